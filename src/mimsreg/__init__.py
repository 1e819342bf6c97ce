"""mimsreg: register packaged ML models with a model inventory (MIMS).

``import mimsreg`` is light: it imports neither boto3 nor the sagemaker SDK. The pipeline step
builder is loaded on first access to :data:`ModelRegistrationStepBuilder`.
"""

from __future__ import annotations

from typing import Any

from mimsreg._version import __version__
from mimsreg.config import (
    ApprovalStatus,
    Framework,
    ModelRegistrationConfig,
    PlaceholderWarning,
    VariableType,
)
from mimsreg.errors import (
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
    "NotFoundError",
    "PayloadError",
    "PlaceholderWarning",
    "PlanError",
    "VariableType",
    "__version__",
]

_LAZY: dict[str, str] = {}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'mimsreg' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
