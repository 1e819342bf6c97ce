"""Sample payloads: generated in the original's layout; custom payloads checked against the schema.

A payload archive is a flat ``payload.tar.gz`` with one file per content type:

- ``payload_text_csv_0.csv``: one headerless line per record, the values in input-variable order,
  quoted by the :mod:`csv` module where needed;
- ``payload_application_json_0.json``: one object per record, input name → value (NUMERIC as
  numbers, TEXT as strings; the original's all-strings form on request). One record is a bare
  object, as the original wrote it; several records are a list of objects.

Generation is deterministic (same spec and options → the same bytes), so registering again stores
the same payload. :func:`load_payload` reads a custom payload (a ``.csv`` or ``.json`` file, a
payload archive, or a folder of those) without extracting anything to disk and raises
:class:`~mimsreg.engine.errors.PayloadError` naming file, row and variable of every mismatch.

``s3://`` payloads are not fetched here: the SageMaker backend downloads the object with its own
client and passes the bytes to :func:`parse_payload_bytes`.

Portable: standard library only, Python 3.9 (it runs inside the processing job too).
"""

from __future__ import annotations

import csv
import difflib
import gzip
import hashlib
import io
import json
import math
import os
import re
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from mimsreg.engine.errors import PayloadError
from mimsreg.engine.spec import RegistrationSpec, SampleValue, VariablePairs, VariableType

__all__ = [
    "CSV_CONTENT_TYPE",
    "DEFAULT_NUMERIC_VALUE",
    "DEFAULT_TEXT_VALUE",
    "JSON_CONTENT_TYPE",
    "PAYLOAD_ARCHIVE_NAME",
    "SUPPORTED_CONTENT_TYPES",
    "PayloadArchive",
    "PayloadLimits",
    "PayloadSample",
    "PreparedPayload",
    "archive_bytes",
    "generate_payload_archive",
    "generate_samples",
    "load_payload",
    "parse_number",
    "parse_payload_bytes",
    "prepare_payload",
    "sample_file_name",
    "sample_value_problems",
]

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
    """Caps on what a custom payload may hold; a payload is a few samples, not a data set."""

    max_files: int = 256
    max_file_bytes: int = 16 * 1024**2
    max_total_bytes: int = 64 * 1024**2


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


# --- generation ---------------------------------------------------------------------------------


def sample_file_name(content_type: str, index: int = 0) -> str:
    """The original's file name for a content type: ``payload_text_csv_0.csv``."""
    return f"payload_{content_type.replace('/', '_')}_{index}.{_EXTENSIONS[content_type]}"


def _check_content_types(content_types: Sequence[str]) -> list[str]:
    chosen: list[str] = []
    for content_type in content_types:
        if content_type not in SUPPORTED_CONTENT_TYPES:
            raise PayloadError(
                f"cannot generate a payload for content type {content_type!r}: "
                f"supported are {', '.join(SUPPORTED_CONTENT_TYPES)}"
            )
        if content_type not in chosen:
            chosen.append(content_type)
    if not chosen:
        raise PayloadError("no content type to generate a payload for")
    return chosen


def _csv_body(spec: RegistrationSpec, records: Sequence[Record]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for record in records:
        writer.writerow([_text(record[name]) for name, _ in spec.input_variables])
    return buffer.getvalue().encode("utf-8")


def _json_body(records: Sequence[Record], all_strings: bool) -> bytes:
    objects = [
        {name: _text(value) if all_strings else value for name, value in record.items()}
        for record in records
    ]
    document: Any = objects[0] if len(objects) == 1 else objects
    return json.dumps(document, ensure_ascii=False, allow_nan=False).encode("utf-8")


def generate_samples(
    spec: RegistrationSpec,
    *,
    rows: int = 1,
    content_types: Sequence[str] | None = None,
    all_strings: bool = False,
    overrides: Mapping[str, SampleValue] | None = None,
) -> list[PayloadSample]:
    """Sample payload files for ``content_types`` (default: the spec's), sorted by file name.

    Every input gets its override (``overrides``, then ``spec.payload_sample_values``) or the
    default of its type; each file holds ``rows`` identical records. ``all_strings`` writes JSON
    values as strings, as the original did.
    """
    if not 1 <= rows <= MAX_ROWS:
        raise PayloadError(f"rows must be between 1 and {MAX_ROWS}, got {rows!r}")
    chosen = _check_content_types(spec.content_types if content_types is None else content_types)
    record = _sample_values(spec, overrides)
    records = tuple(dict(record) for _ in range(rows))
    samples = []
    for content_type in chosen:
        if content_type == CSV_CONTENT_TYPE:
            body = _csv_body(spec, records)
        else:
            body = _json_body(records, all_strings)
        if len(body) > PayloadLimits().max_file_bytes:
            raise PayloadError(
                f"a {rows}-row {content_type} sample would be {len(body)} bytes, more than a "
                f"payload file may hold ({PayloadLimits().max_file_bytes}): use fewer rows"
            )
        samples.append(PayloadSample(sample_file_name(content_type), content_type, body, records))
    return sorted(samples, key=lambda sample: sample.name)


def archive_bytes(samples: Sequence[PayloadSample]) -> bytes:
    """A flat ``.tar.gz`` of the samples, byte-for-byte reproducible.

    Members sorted by name, mtime 0, owner 0/0 without names, mode 0644; gzip header without file
    name and with mtime 0.
    """
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for sample in sorted(samples, key=lambda item: item.name):
            info = tarfile.TarInfo(sample.name)
            info.size = len(sample.body)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(sample.body))
    compressed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, compresslevel=9, mtime=0) as gz:
        gz.write(raw.getvalue())
    return compressed.getvalue()


def generate_payload_archive(
    spec: RegistrationSpec,
    dest: str | os.PathLike[str] = PAYLOAD_ARCHIVE_NAME,
    rows: int = 1,
    *,
    content_types: Sequence[str] | None = None,
    all_strings: bool = False,
    overrides: Mapping[str, SampleValue] | None = None,
) -> PayloadArchive:
    """Write the sample payload archive to ``dest`` (a file, or a folder to hold payload.tar.gz).

    The file is replaced atomically: it is complete or absent, never half-written. The options are
    those of :func:`generate_samples`.
    """
    samples = generate_samples(
        spec,
        rows=rows,
        content_types=content_types,
        all_strings=all_strings,
        overrides=overrides,
    )
    data = archive_bytes(samples)
    path = Path(dest)
    if path.is_dir():
        path = path / PAYLOAD_ARCHIVE_NAME
    _write_atomically(path, data)
    return PayloadArchive(path, hashlib.sha256(data).hexdigest(), len(data), tuple(samples))


def _write_atomically(path: Path, data: bytes) -> None:
    try:
        descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise PayloadError(f"cannot write {str(path)!r}: {exc}") from exc
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        temporary.chmod(0o644)
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise PayloadError(f"cannot write {str(path)!r}: {exc}") from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# --- reading custom payloads --------------------------------------------------------------------


class _Problems:
    """Schema mismatches, collected so that one run reports all of them (up to a cap)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.dropped = 0

    def add(self, file: str, message: str, row: int | None = None, variable: str = "") -> None:
        if len(self.lines) >= _MAX_PROBLEMS:
            self.dropped += 1
            return
        where = file
        if row is not None:
            where += f", row {row}"
        if variable:
            where += f", variable {variable!r}"
        self.lines.append(f"{where}: {message}")

    def raise_if_any(self, source: str) -> None:
        if not self.lines:
            return
        count = len(self.lines) + self.dropped
        lines = [f"  {line}" for line in self.lines]
        if self.dropped:
            lines.append(f"  ... and {self.dropped} more")
        raise PayloadError(
            f"payload {source!r} does not match the input variables ({count} problem(s)):\n"
            + "\n".join(lines)
        )


def _kind_of(suffix_name: str) -> str | None:
    lowered = suffix_name.lower()
    if lowered.endswith(_ARCHIVE_SUFFIXES):
        return "archive"
    return _CONTENT_TYPES_BY_SUFFIX.get(PurePosixPath(lowered).suffix)


def _not_a_payload_file(name: str) -> str:
    return f"{name!r} is not a payload file: use .csv, .json, or a .tar.gz archive of those"


def load_payload(
    source: str | os.PathLike[str],
    spec: RegistrationSpec,
    *,
    limits: PayloadLimits | None = None,
) -> list[PayloadSample]:
    """Read and check a custom payload against the spec's input variables.

    ``source`` is a ``.csv`` or ``.json`` file, a payload ``.tar.gz`` (read in memory, never
    extracted; only regular files; capped), or a folder of those (hidden files are skipped). CSV:
    headerless, one value per input variable, NUMERIC values numeric. JSON: an object or a list of
    objects whose keys are exactly the input names, NUMERIC values numbers (or numeric strings, the
    original's form), TEXT values strings.

    An ``s3://`` URI is refused with a :class:`PayloadError`: the SageMaker backend fetches it with
    its own S3 client and calls :func:`parse_payload_bytes`.

    Raises :class:`PayloadError` listing every mismatch with file, row (1-based) and variable.
    """
    limits = limits or PayloadLimits()
    text = os.fspath(source)
    if text.startswith("s3://"):
        raise PayloadError(
            f"cannot read {text!r} here: s3:// payloads are fetched by the SageMaker backend; "
            "copy it to a local file (aws s3 cp) to check it"
        )
    path = Path(text)
    problems = _Problems()
    if path.is_dir():
        samples = _load_directory(path, spec, limits, problems)
    elif path.is_file():
        samples = _load_file(path, path.name, "", spec, limits, problems)
    else:
        raise PayloadError(f"payload {text!r} does not exist")
    problems.raise_if_any(text)
    if not samples:
        raise PayloadError(f"payload {text!r} holds no .csv or .json sample")
    return samples


def parse_payload_bytes(
    name: str,
    data: bytes,
    spec: RegistrationSpec,
    *,
    limits: PayloadLimits | None = None,
) -> list[PayloadSample]:
    """Check payload bytes already in memory (an object fetched from S3); ``name`` gives the type.

    Same rules and errors as :func:`load_payload`.
    """
    limits = limits or PayloadLimits()
    problems = _Problems()
    kind = _kind_of(name)
    if kind == "archive":
        samples = _load_archive(io.BytesIO(data), name, "", spec, limits, problems)
    elif kind is None:
        raise PayloadError(_not_a_payload_file(name))
    else:
        if len(data) > limits.max_file_bytes:
            raise PayloadError(_too_large(name, len(data), limits))
        samples = [_parse_sample(name, kind, data, spec, problems)]
    problems.raise_if_any(name)
    if not samples:
        raise PayloadError(f"payload {name!r} holds no .csv or .json sample")
    return samples


def _too_large(label: str, size: int, limits: PayloadLimits) -> str:
    return (
        f"{label!r} is {size} bytes, more than a payload file may hold "
        f"({limits.max_file_bytes} bytes)"
    )


def _load_file(
    path: Path,
    label: str,
    prefix: str,
    spec: RegistrationSpec,
    limits: PayloadLimits,
    problems: _Problems,
) -> list[PayloadSample]:
    """One file; the samples of an archive are named ``prefix + member``."""
    kind = _kind_of(path.name)
    if kind is None:
        raise PayloadError(_not_a_payload_file(label))
    try:
        if kind == "archive":
            with path.open("rb") as handle:
                return _load_archive(handle, label, prefix, spec, limits, problems)
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise PayloadError(_too_large(label, size, limits))
        data = path.read_bytes()
    except OSError as exc:
        raise PayloadError(f"cannot read {str(path)!r}: {exc}") from exc
    return [_parse_sample(label, kind, data, spec, problems)]


def _load_directory(
    folder: Path, spec: RegistrationSpec, limits: PayloadLimits, problems: _Problems
) -> list[PayloadSample]:
    samples: list[PayloadSample] = []
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise PayloadError(f"cannot list {str(folder)!r}: {exc}") from exc
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_symlink() or not (entry.is_file() or entry.is_dir()):
            raise PayloadError(f"{entry.name!r} in {str(folder)!r} is not a regular file")
        if entry.is_dir():
            raise PayloadError(
                f"{entry.name!r} in {str(folder)!r} is a folder: a payload folder is flat"
            )
        samples.extend(_load_file(entry, entry.name, f"{entry.name}:", spec, limits, problems))
        if len(samples) > limits.max_files:
            raise PayloadError(f"{str(folder)!r} holds more than {limits.max_files} payload files")
    return samples


def _safe_member_name(archive: str, name: str) -> str:
    posix = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or posix.is_absolute() or re.match(r"^[A-Za-z]:", name):
        raise PayloadError(f"{archive}: member {name!r} has an absolute path; refused")
    if ".." in posix.parts:
        raise PayloadError(f"{archive}: member {name!r} points outside the archive ('..'); refused")
    return "/".join(part for part in posix.parts if part not in ("", "."))


def _member_kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return f"symbolic link to {member.linkname!r}"
    if member.islnk():
        return f"hard link to {member.linkname!r}"
    if member.isdev():
        return "device or FIFO"
    return f"tar member of type {member.type!r}"


def _load_archive(
    fileobj: IO[bytes],
    archive: str,
    prefix: str,
    spec: RegistrationSpec,
    limits: PayloadLimits,
    problems: _Problems,
) -> list[PayloadSample]:
    """Read a payload .tar.gz as a stream, in memory; refuse links, escapes and oversize members."""
    samples: list[PayloadSample] = []
    seen: set[str] = set()
    total = 0
    try:
        # Stream mode ("r|gz"): one sequential pass, nothing seeks, nothing touches the disk.
        with tarfile.open(fileobj=fileobj, mode="r|gz") as tar:
            for member in tar:
                name = _safe_member_name(archive, member.name)
                if member.isdir():
                    continue
                if not name:
                    raise PayloadError(f"{archive}: member {member.name!r} has no file name")
                if not member.isfile():
                    raise PayloadError(
                        f"{archive}: member {member.name!r} is a {_member_kind(member)}; "
                        "a payload archive holds only regular files"
                    )
                if len(seen) >= limits.max_files:
                    raise PayloadError(f"{archive}: more than {limits.max_files} files; refused")
                if member.size > limits.max_file_bytes:
                    raise PayloadError(_too_large(f"{archive}:{name}", member.size, limits))
                total += member.size
                if total > limits.max_total_bytes:
                    raise PayloadError(
                        f"{archive}: more than {limits.max_total_bytes} bytes uncompressed; refused"
                    )
                if name in seen:
                    raise PayloadError(f"{archive}: member {name!r} appears twice")
                seen.add(name)
                label = prefix + name
                if PurePosixPath(name).name.startswith("."):
                    continue
                kind = _kind_of(name)
                if kind is None or kind == "archive":
                    problems.add(label, "is not a payload file: an archive holds .csv and .json")
                    continue
                extracted = tar.extractfile(member)
                data = extracted.read(member.size) if extracted is not None else b""
                samples.append(_parse_sample(label, kind, data, spec, problems))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise PayloadError(f"{archive} is not a readable .tar.gz archive: {exc}") from exc
    return samples


def _decode(label: str, data: bytes, problems: _Problems) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.add(label, f"is not UTF-8 text ({exc.reason} at byte {exc.start})")
        return None


def _parse_sample(
    label: str, content_type: str, data: bytes, spec: RegistrationSpec, problems: _Problems
) -> PayloadSample:
    text = _decode(label, data, problems)
    records: list[Record] = []
    if text is not None:
        before = len(problems.lines) + problems.dropped
        if content_type == CSV_CONTENT_TYPE:
            records = _csv_records(label, text, spec, problems)
        else:
            records = _json_records(label, text, spec, problems)
        if not records and before == len(problems.lines) + problems.dropped:
            problems.add(label, "holds no records")
    return PayloadSample(label, content_type, data, tuple(records))


def _csv_records(
    label: str, text: str, spec: RegistrationSpec, problems: _Problems
) -> list[Record]:
    names = [name for name, _ in spec.input_variables]
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        problems.add(label, f"is not valid CSV: {exc}")
        return []
    if rows and names and rows[0] == names:
        problems.add(label, "is a header (the variable names): payload CSV files are headerless", 1)
        return []
    records = []
    for number, row in enumerate(rows, start=1):
        if len(row) < len(names):
            missing = ", ".join(repr(name) for name in names[len(row) :])
            problems.add(
                label,
                f"{len(row)} value(s) for {len(names)} input variables; no value for {missing}",
                number,
                names[len(row)],
            )
            continue
        if len(row) > len(names):
            problems.add(
                label,
                f"{len(row)} values for {len(names)} input variables: "
                f"{len(row) - len(names)} extra value(s) after the last variable",
                number,
                names[-1] if names else "",
            )
            continue
        record: Record = {}
        for index, (name, kind) in enumerate(spec.input_variables):
            value = row[index]
            if not _is_numeric(kind):
                record[name] = value
                continue
            parsed = parse_number(value)
            if parsed is None:
                problems.add(label, f"NUMERIC value {value!r} is not a number", number, name)
            else:
                record[name] = parsed
        if len(record) == len(names):
            records.append(record)
    return records


def unique_keys(pairs: Iterable[tuple[Any, Any]]) -> dict[Any, Any]:
    """A JSON ``object_pairs_hook`` that refuses duplicate keys instead of keeping the last."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _json_records(
    label: str, text: str, spec: RegistrationSpec, problems: _Problems
) -> list[Record]:
    try:
        document = json.loads(text, object_pairs_hook=unique_keys)
    except ValueError as exc:
        problems.add(label, f"is not valid JSON: {exc}")
        return []
    if isinstance(document, dict):
        objects: list[Any] = [document]
    elif isinstance(document, list) and document:
        objects = document
    else:
        problems.add(
            label,
            f"must hold an object (input name → value) or a non-empty list of objects, "
            f"got {_json_type(document)}",
        )
        return []
    kinds = dict(spec.input_variables)
    records = []
    for number, item in enumerate(objects, start=1):
        if not isinstance(item, dict):
            problems.add(label, f"must be an object (input name → value), got {_json_type(item)}")
            continue
        ok = True
        for key in item:
            if key not in kinds:
                close = difflib.get_close_matches(key, list(kinds), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.add(label, f"is not an input variable{hint}", number, key)
                ok = False
        record: Record = {}
        for name, kind in spec.input_variables:
            if name not in item:
                problems.add(label, "is missing", number, name)
                ok = False
                continue
            value = item[name]
            if _is_numeric(kind):
                parsed = parse_number(value) if isinstance(value, str) else value
                if parsed is None or not _is_number(parsed):
                    problems.add(
                        label,
                        f"NUMERIC expects a number, got {_json_type(value)} {value!r}",
                        number,
                        name,
                    )
                    ok = False
                    continue
                record[name] = parsed
            elif isinstance(value, str):
                record[name] = value
            else:
                problems.add(
                    label,
                    f"TEXT expects a string, got {_json_type(value)} {value!r}",
                    number,
                    name,
                )
                ok = False
        if ok:
            records.append(record)
    return records


@dataclass(frozen=True)
class PreparedPayload:
    """The sample payload archive stored with a version, and its digest (part of the identity)."""

    path: Path
    sha256: str


def prepare_payload(
    spec: RegistrationSpec, payload: str | Path | None, work: Path
) -> PreparedPayload:
    """The payload archive to store: a custom one checked against the schema, or generated.

    A custom ``payload.tar.gz`` is stored as it is; a single file or a folder is packed into the
    original's flat layout. Without one, samples are generated from the input variables
    (deterministic, so a re-run keeps the identity).
    """
    target = work / PAYLOAD_ARCHIVE_NAME
    if payload is None:
        archive = generate_payload_archive(spec, target)
        return PreparedPayload(archive.path, archive.sha256)
    source = Path(payload)
    samples = load_payload(source, spec)
    if source.is_file() and source.name.endswith((".tar.gz", ".tgz")):
        return PreparedPayload(source, _file_sha256(source))
    data = archive_bytes(samples)
    target.write_bytes(data)
    return PreparedPayload(target, hashlib.sha256(data).hexdigest())


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()
