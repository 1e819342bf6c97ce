"""The one exception tree of mimsreg (defined in :mod:`mimsreg.engine.errors`, which the
processing job also runs; this is its public name)."""

from __future__ import annotations

from mimsreg.engine.errors import (
    BadInputError,
    CheckFailedError,
    ConfigError,
    FieldError,
    InvalidPackageError,
    InventoryError,
    InventoryURIError,
    MimsregError,
    MissingDependencyError,
    NotFoundError,
    PayloadError,
    PlanError,
    RegistryWarning,
)

__all__ = [
    "BadInputError",
    "CheckFailedError",
    "ConfigError",
    "FieldError",
    "InvalidPackageError",
    "InventoryError",
    "InventoryURIError",
    "MimsregError",
    "MissingDependencyError",
    "NotFoundError",
    "PayloadError",
    "PlanError",
    "RegistryWarning",
]
