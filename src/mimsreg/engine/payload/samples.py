"""Sample payloads' vocabulary: content types, limits, the sample and archive types, and the
values (numbers parsed as the original did, defaults and per-input overrides)."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mimsreg.engine.errors import PayloadError
from mimsreg.engine.package.members import PackageLimits
from mimsreg.engine.spec import RegistrationSpec, SampleValue, VariablePairs, VariableType

CSV_CONTENT_TYPE = "text/csv"
JSON_CONTENT_TYPE = "application/json"
SUPPORTED_CONTENT_TYPES: tuple[str, ...] = (CSV_CONTENT_TYPE, JSON_CONTENT_TYPE)
# The original's defaults for inputs without an override.
DEFAULT_NUMERIC_VALUE = 0.0
DEFAULT_TEXT_VALUE = "DEFAULT_TEXT"
PAYLOAD_ARCHIVE_NAME = "payload.tar.gz"
MAX_ROWS = 10_000

_EXTENSIONS = {CSV_CONTENT_TYPE: "csv", JSON_CONTENT_TYPE: "json"}
_CONTENT_TYPES_BY_SUFFIX = {".csv": CSV_CONTENT_TYPE, ".json": JSON_CONTENT_TYPE}
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_NON_FINITE = frozenset(
    sign + word for sign in ("", "+", "-") for word in ("nan", "inf", "infinity")
)
_MAX_PROBLEMS = 50

Record = dict[str, SampleValue]


@dataclass(frozen=True)
class PayloadLimits:
    """Caps on what a custom payload may hold; a payload is a few samples, not a data set.

    A payload archive is read by the model archive's reader under ``archive``, the limits model
    archives have (members, extended headers, names, compression ratio), and these caps on top.
    """

    max_files: int = 256
    max_file_bytes: int = 16 * 1024**2
    max_total_bytes: int = 64 * 1024**2
    archive: PackageLimits = field(default_factory=PackageLimits)


@dataclass(frozen=True)
class PayloadSample:
    """One payload file: its name, content type, exact bytes and the records it holds.

    ``records`` hold input name → value in input-variable order, NUMERIC values as numbers (also
    when the file wrote them as strings) and TEXT values as strings.
    """

    name: str
    content_type: str
    body: bytes
    records: tuple[Record, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary (without the body)."""
        return {
            "name": self.name,
            "content_type": self.content_type,
            "size": len(self.body),
            "records": len(self.records),
        }


@dataclass(frozen=True)
class PayloadArchive:
    """A payload archive written by :func:`generate_payload_archive`."""

    path: Path
    sha256: str
    size: int
    samples: tuple[PayloadSample, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary (the ``--json`` output of ``mimsreg payload``)."""
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "size": self.size,
            "samples": [sample.to_dict() for sample in self.samples],
        }


# --- values -------------------------------------------------------------------------------------


def parse_number(text: str) -> float | int | None:
    """The number a CSV field or JSON string spells (``"3"`` → 3, ``"0.5"`` → 0.5), else None.

    Decimal and scientific notation, and ``nan``/``inf`` (missing values in many models' CSV).
    """
    stripped = text.strip()
    if _INTEGER.fullmatch(stripped):
        return int(stripped)
    if _NUMBER.fullmatch(stripped) or stripped.lower() in _NON_FINITE:
        return float(stripped)
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_numeric(kind: str) -> bool:
    return VariableType(kind) is VariableType.NUMERIC


def sample_value_problems(values: Mapping[str, Any], input_variables: VariablePairs) -> list[str]:
    """Why per-input sample values do not fit the input variables (empty when they do)."""
    kinds = dict(input_variables)
    problems = []
    for name, value in values.items():
        kind = kinds.get(name)
        if kind is None:
            close = difflib.get_close_matches(str(name), list(kinds), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(f"{name!r} is not an input variable{hint}")
        elif isinstance(value, bool) or not isinstance(value, (int, float, str)):
            problems.append(f"the value of {name!r} must be a number or a string, got {value!r}")
        elif _is_numeric(kind):
            number = parse_number(value) if isinstance(value, str) else value
            if number is None:
                problems.append(f"{name!r} is NUMERIC: {value!r} is not a number")
            elif not math.isfinite(number):
                problems.append(f"{name!r} is NUMERIC: {value!r} is not a finite number")
    return problems


def _sample_values(spec: RegistrationSpec, overrides: Mapping[str, Any] | None) -> Record:
    chosen: dict[str, Any] = dict(spec.payload_sample_values)
    chosen.update(overrides or {})
    problems = sample_value_problems(chosen, spec.input_variables)
    if problems:
        raise PayloadError("invalid sample values: " + "; ".join(problems))
    record: Record = {}
    for name, kind in spec.input_variables:
        numeric = _is_numeric(kind)
        if name not in chosen:
            record[name] = DEFAULT_NUMERIC_VALUE if numeric else DEFAULT_TEXT_VALUE
            continue
        value = chosen[name]
        if numeric and isinstance(value, str):
            value = parse_number(value)
        elif not numeric:
            value = _text(value)
        record[name] = value
    return record


def _text(value: SampleValue) -> str:
    """A value as the original wrote it in CSV and all-strings JSON (0.0 → "0.0")."""
    if isinstance(value, float):
        return repr(value)
    return str(value)
