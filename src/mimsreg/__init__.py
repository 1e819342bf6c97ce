"""mimsreg: register packaged ML models with a model inventory (MIMS).

``import mimsreg`` is light: names are loaded on first access, so it imports neither boto3 nor the
sagemaker SDK, nor pydantic. It imports only the engine (``mimsreg.engine``), which also runs inside
a processing job on Python 3.9 with only the standard library and boto3, from a bundle holding
this file and the engine package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mimsreg.engine import _moved
from mimsreg.engine._version import __version__
from mimsreg.engine.errors import (
    BadInputError,
    ConfigError,
    FieldError,
    InvalidPackageError,
    InventoryError,
    MimsregError,
    MissingDependencyError,
    NotFoundError,
    PayloadError,
    PlanError,
)

if TYPE_CHECKING:
    from mimsreg.api import plan_registration, register
    from mimsreg.config import ModelRegistrationConfig, PlaceholderWarning
    from mimsreg.engine.execute import RegistrationResult
    from mimsreg.engine.spec import ApprovalStatus, Framework, RegistrationSpec, VariableType
    from mimsreg.pipeline.builder import ModelRegistrationStepBuilder

# The old paths of the engine's modules (mimsreg.plan, mimsreg.inventory, ...) for one release.
_moved.install()

_LAZY: dict[str, str] = {
    "ModelRegistrationConfig": "mimsreg.config",
    "PlaceholderWarning": "mimsreg.config",
    "ApprovalStatus": "mimsreg.engine.spec",
    "Framework": "mimsreg.engine.spec",
    "RegistrationSpec": "mimsreg.engine.spec",
    "VariableType": "mimsreg.engine.spec",
    "register": "mimsreg.api",
    "plan_registration": "mimsreg.api",
    "RegistrationResult": "mimsreg.engine.execute",
    # The pipeline builder imports the sagemaker SDK only when a builder is made.
    "ModelRegistrationStepBuilder": "mimsreg.pipeline.builder",
}

__all__ = [
    "ApprovalStatus",
    "BadInputError",
    "ConfigError",
    "FieldError",
    "Framework",
    "InvalidPackageError",
    "InventoryError",
    "MimsregError",
    "MissingDependencyError",
    "ModelRegistrationConfig",
    "ModelRegistrationStepBuilder",
    "NotFoundError",
    "PayloadError",
    "PlaceholderWarning",
    "PlanError",
    "RegistrationResult",
    "RegistrationSpec",
    "VariableType",
    "__version__",
    "plan_registration",
    "register",
]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'mimsreg' has no attribute {name!r}")
    return getattr(importlib.import_module(module_name), name)


def __dir__() -> list[str]:
    return sorted(__all__)
