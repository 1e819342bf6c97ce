"""What ``--install-requirements`` takes from a model's ``code/requirements.txt``: plain
requirements only (a name, ``[extras]``, version specifiers, ``; markers``, ``--hash`` options).

Where packages come from is the user's choice (``--index-url``, ``--wheelhouse``), never the
model's: every other pip option (``-i``/``--index-url``, ``--extra-index-url``, ``-f``, ``-e``,
``-r``, ``-c``, ``--trusted-host``, ...), VCS and URL requirements, direct references
(``name @ url``), local paths and ``${VARIABLES}`` are refused, naming the line. pip then reads a
file of the accepted lines only.
"""

from __future__ import annotations

import re
from pathlib import Path

from mimsreg.errors import InvalidPackageError

__all__ = ["MAX_REQUIREMENTS_BYTES", "safe_requirements"]

MAX_REQUIREMENTS_BYTES = 1024**2
_SHOWN = 100

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_EXTRAS = rf"(?:\s*\[\s*(?:{_NAME}(?:\s*,\s*{_NAME})*)?\s*\])?"
_VERSION = r"(?:~=|===|==|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+"
_SPECIFIERS = rf"(?:\s*\(?\s*{_VERSION}(?:\s*,\s*{_VERSION})*\s*\)?)?"
# Markers compare names with quoted words: no '/', ':', '@', '$' or '\' needed, so none allowed.
_MARKER = r"(?:\s*;[A-Za-z0-9_.\s'\"<>=!~(),*+-]+)?"
_REQUIREMENT = re.compile(rf"{_NAME}{_EXTRAS}{_SPECIFIERS}{_MARKER}")
_HASH = re.compile(r"\s+--hash[=\s]\s*sha(?:256|384|512):[0-9a-fA-F]+")
_COMMENT = re.compile(r"(^|\s+)#.*$")
_DIRECT_REFERENCE = re.compile(rf"{_NAME}{_EXTRAS}\s*@")
_VCS_OR_URL = re.compile(r"(?i)^(git|hg|svn|bzr)\+|://|^file:")
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2")


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(number of the first physical line, text) after pip's joining of ``\\`` continuations and
    removal of comments."""
    lines: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        start, before = pending if pending is not None else (number, "")
        if raw.endswith("\\"):
            pending = (start, before + raw[:-1])
            continue
        pending = None
        lines.append((start, _COMMENT.sub("", before + raw).strip()))
    if pending is not None:
        lines.append((pending[0], _COMMENT.sub("", pending[1]).strip()))
    return [(number, line) for number, line in lines if line]


def _refusal(line: str) -> str | None:
    """Why ``line`` is refused, or None for a plain requirement."""
    if line.startswith("-"):
        option = line.split()[0].split("=")[0]
        return (
            f"pip options ({option}) are not taken from the model's requirements; choose the "
            "index with --index-url or --wheelhouse"
        )
    if _VCS_OR_URL.search(line):
        return "VCS and URL requirements are refused: name the package and its version"
    if _DIRECT_REFERENCE.match(line):
        return "direct references (name @ url) are refused: name the package and its version"
    requirement = _HASH.sub("", line).strip()
    if (
        requirement.startswith((".", "/", "~"))
        or "/" in requirement
        or "\\" in requirement
        or requirement.lower().endswith(_ARCHIVE_SUFFIXES)
    ):
        return "local paths are refused: name the package and its version"
    if not _REQUIREMENT.fullmatch(requirement) or re.search(r"\s-", requirement):
        return (
            "not a plain requirement (a name, optional [extras], version specifiers, "
            "; markers and --hash options)"
        )
    return None


def safe_requirements(path: Path) -> list[str]:
    """The accepted lines of ``path`` (a model's ``code/requirements.txt``); the first refused
    line is :class:`InvalidPackageError` naming its number, text and reason."""
    with path.open("rb") as handle:
        data = handle.read(MAX_REQUIREMENTS_BYTES + 1)
    if len(data) > MAX_REQUIREMENTS_BYTES:
        raise InvalidPackageError(
            f"code/requirements.txt is larger than {MAX_REQUIREMENTS_BYTES} bytes; refused"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidPackageError(f"code/requirements.txt is not UTF-8 text: {exc}") from exc
    accepted: list[str] = []
    for number, line in _logical_lines(text):
        reason = _refusal(line)
        if reason is not None:
            shown = line if len(line) <= _SHOWN else line[:_SHOWN] + "..."
            raise InvalidPackageError(f"code/requirements.txt line {number}: {shown!r}: {reason}")
        accepted.append(line)
    return accepted
