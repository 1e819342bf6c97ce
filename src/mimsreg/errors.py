"""The one exception tree of mimsreg (defined in :mod:`mimsreg.engine.errors`, which the
processing job also runs; this is its public name)."""

from __future__ import annotations

from mimsreg.engine.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    BadInputError,
    CheckFailedError,
    ConfigError,
    FieldError,
    InvalidPackageError,
    InventoryError,
    InventoryUnavailableError,
    InventoryURIError,
    IsolationWarning,
    LockLostError,
    LockTimeoutError,
    MimsregError,
    MissingDependencyError,
    NotFoundError,
    PayloadError,
    PlanError,
    RegistryWarning,
    exit_code,
)

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_OK",
    "BadInputError",
    "CheckFailedError",
    "ConfigError",
    "FieldError",
    "InvalidPackageError",
    "InventoryError",
    "InventoryURIError",
    "InventoryUnavailableError",
    "IsolationWarning",
    "LockLostError",
    "LockTimeoutError",
    "MimsregError",
    "MissingDependencyError",
    "NotFoundError",
    "PayloadError",
    "PlanError",
    "RegistryWarning",
    "exit_code",
]
