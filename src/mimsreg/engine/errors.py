"""The one exception tree of mimsreg.

Every error mimsreg raises on purpose derives from :class:`MimsregError`. Library code raises these
and chains the underlying cause (``raise ... from exc``); only the CLI turns them into messages and
exit codes (2 for bad input, 1 for a failed registration).

::

    MimsregError
    ├── ConfigError            a configuration that does not validate (every field error at once)
    ├── InvalidPackageError    a model archive that is broken, hostile or incomplete
    ├── PayloadError           a sample payload that does not match the variable schema
    ├── PlanError              a registration that cannot be planned (unknown image, region, ...)
    ├── CheckFailedError       the model failed its conformance check: nothing was registered
    ├── InventoryError         an inventory backend failed
    │   ├── InventoryURIError  an inventory URI that names no known backend
    │   └── NotFoundError      a group or version that does not exist
    └── MissingDependencyError an optional extra is not installed
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class MimsregError(Exception):
    """Base class of every error raised by mimsreg on purpose."""


@dataclass(frozen=True)
class FieldError:
    """One validation problem: the dotted path of the field and what is wrong with it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class BadInputError(MimsregError):
    """Input the user can fix (configuration, archive, payload, arguments): the CLI exits 2."""


class ConfigError(BadInputError, ValueError):
    """A configuration that does not validate; ``errors`` holds every problem found."""

    def __init__(self, errors: Sequence[FieldError], source: str | None = None) -> None:
        self.errors = list(errors)
        self.source = source
        where = f" in {source}" if source else ""
        lines = "\n".join(f"  {error}" for error in self.errors)
        super().__init__(f"{len(self.errors)} configuration error(s){where}:\n{lines}")


class InvalidPackageError(BadInputError):
    """A broken, hostile or incomplete model archive; the message names member and reason."""


class PayloadError(BadInputError):
    """A sample payload that does not match the declared variable schema."""


class PlanError(BadInputError):
    """A registration that cannot be planned, such as an unknown inference image for a region."""


class CheckFailedError(MimsregError):
    """``register --check``: the model did not answer its declared schema; nothing was written."""

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class InventoryError(MimsregError):
    """An inventory backend could not complete an operation."""


class InventoryURIError(InventoryError, BadInputError):
    """An inventory URI that names no known backend."""


class NotFoundError(InventoryError, BadInputError):
    """A model package group or version that does not exist in the inventory."""


class MissingDependencyError(MimsregError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""


class RegistryWarning(UserWarning):
    """Something SageMaker would refuse was left out of a request (see ``engine.aws_rules``)."""
