"""The one exception tree of mimsreg.

Every error mimsreg raises on purpose derives from :class:`MimsregError`. Library code raises these
and chains the underlying cause (``raise ... from exc``); foreign errors (botocore, S3) are mapped
to the tree at the backend's boundary (:mod:`mimsreg.engine.inventory._aws_errors`). The front ends
(the CLI, the processing job) turn them into one message line and :func:`exit_code`.

::

    MimsregError
    ├── ConfigError            a configuration that does not validate (every field error at once)
    ├── InvalidPackageError    a model archive that is broken, hostile or incomplete
    ├── PayloadError           a sample payload that does not match the variable schema
    ├── PlanError              a registration that cannot be planned (unknown image, region, ...)
    ├── CheckFailedError       the model failed its conformance check: nothing was registered
    ├── InventoryError         an inventory backend failed
    │   ├── InventoryUnavailableError  the backend cannot be reached (endpoint, region named)
    │   ├── LockTimeoutError   another writer held a group's create lock too long
    │   ├── LockLostError      a create lock's lease ran out before the work was done
    │   ├── CredentialsError   no AWS credentials found (with where to set them)
    │   ├── InventoryLocationError  the local inventory's folder or file cannot be used
    │   ├── InventoryURIError  an inventory URI that names no known backend
    │   └── NotFoundError      a group or version that does not exist
    └── MissingDependencyError an optional extra is not installed

Hostile input must not make hostile output: every line of a message is cut to
:data:`MAX_LINE` characters (in the middle, saying how much was left out), so a value quoted
with ``!r`` (a 1 MiB member name, a YAML value) cannot flood a terminal or a log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Characters one line of an error message may hold: enough for a path, a quoted name and the
# reason, never a whole hostile value.
MAX_LINE = 400
_MAX_WORD = 160
_LONG_WORD = re.compile(rf"\S{{{_MAX_WORD + 1},}}")


def shorten(text: str, limit: int = MAX_LINE) -> str:
    """``text`` cut in the middle to about ``limit`` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit // 4
    left_out = len(text) - head - tail
    return f"{text[:head]} ...[{left_out:,} characters left out]... {text[-tail:]}"


def _shorten_word(match: re.Match[str]) -> str:
    return shorten(match.group(), _MAX_WORD)


def shorten_lines(message: str, limit: int = MAX_LINE) -> str:
    """Every line of ``message`` cut to ``limit`` characters (see :func:`shorten`).

    Long words (a path, a quoted name) are cut first, so the reason around them stays whole.
    """
    if len(message) <= limit:
        return message
    lines = (_LONG_WORD.sub(_shorten_word, line) for line in message.split("\n"))
    return "\n".join(shorten(line, limit) for line in lines)


class MimsregError(Exception):
    """Base class of every error raised by mimsreg on purpose.

    A message's lines are cut to :data:`MAX_LINE` characters here, once for the whole tree.
    """

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str):
            args = (shorten_lines(args[0]), *args[1:])
        super().__init__(*args)


@dataclass(frozen=True)
class FieldError:
    """One validation problem: the dotted path of the field and what is wrong with it."""

    field: str
    message: str

    def __post_init__(self) -> None:
        # A dict key or a value quoted in the message may be anything the file held.
        object.__setattr__(self, "field", shorten(self.field, MAX_LINE // 2))
        object.__setattr__(self, "message", shorten_lines(self.message))

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


class InventoryUnavailableError(InventoryError):
    """The inventory's service cannot be reached; the message names the endpoint and region."""


class LockTimeoutError(InventoryError):
    """Another writer held the group's create lock for longer than the wait allowed."""


class LockLostError(InventoryError):
    """The lease ran out before the work under it was done (another writer took it over)."""


class CredentialsError(InventoryError, BadInputError):
    """No AWS credentials were found (nothing was sent); the message says where to set them."""


class InventoryLocationError(InventoryError, BadInputError):
    """The local inventory's folder or file cannot be used (a file where a folder must be, not
    writable, read-only); the message names the path and the reason. Nothing was written."""


class InventoryURIError(InventoryError, BadInputError):
    """An inventory URI that names no known backend."""


class NotFoundError(InventoryError, BadInputError):
    """A model package group or version that does not exist in the inventory."""


class MissingDependencyError(MimsregError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""


class RegistryWarning(UserWarning):
    """Something SageMaker would refuse was left out of a request (see ``engine.aws_rules``)."""


class IsolationWarning(UserWarning):
    """``check`` ran the model's code without a sandbox; the message says what was not contained."""


EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def exit_code(error: BaseException | None) -> int:
    """The exit code of every front end: 0 no error, 2 bad input (nothing was written), 1 any
    other failure."""
    if error is None:
        return EXIT_OK
    return EXIT_BAD_INPUT if isinstance(error, BadInputError) else EXIT_FAILED
