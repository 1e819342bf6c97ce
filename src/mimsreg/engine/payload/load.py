"""Reading custom payloads (``.csv``, ``.json``, a payload archive or a folder) without
extracting anything, each mismatch named by file, row and variable."""

from __future__ import annotations

import csv
import difflib
import io
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import IO, Any

from mimsreg.engine.errors import InvalidPackageError, PayloadError
from mimsreg.engine.inputs import refuse_special_file
from mimsreg.engine.package.reader import read_tar_gz
from mimsreg.engine.payload.samples import (
    _ARCHIVE_SUFFIXES,
    _CONTENT_TYPES_BY_SUFFIX,
    _MAX_PROBLEMS,
    CSV_CONTENT_TYPE,
    PayloadLimits,
    PayloadSample,
    Record,
    _is_number,
    _is_numeric,
    parse_number,
)
from mimsreg.engine.spec import RegistrationSpec

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
    refuse_special_file(path, "payload", PayloadError)
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


_REGULAR = (b"0", b"\x00", b"7")
_DIRECTORY = b"5"


def _member_kind(typeflag: bytes, link: str) -> str:
    if typeflag == b"2":
        return f"symbolic link to {link!r}"
    if typeflag == b"1":
        return f"hard link to {link!r}"
    if typeflag in (b"3", b"4", b"6"):
        return "device or FIFO"
    return f"tar member of type {typeflag!r}"


class _ArchiveReader:
    """The payload rules over the model archive's reader: it screens each member (links,
    escapes, caps), then receives the data of the sample files and parses each one."""

    def __init__(
        self,
        archive: str,
        prefix: str,
        spec: RegistrationSpec,
        limits: PayloadLimits,
        problems: _Problems,
    ) -> None:
        self.archive = archive
        self.prefix = prefix
        self.spec = spec
        self.limits = limits
        self.problems = problems
        self.samples: list[PayloadSample] = []
        self._seen: set[str] = set()
        self._total = 0
        self._next: tuple[str, str] | None = None  # (label, content type) of the member to parse
        self._current: tuple[str, str] | None = None
        self._data = bytearray()

    def screen(self, raw: str, typeflag: bytes, link: str, size: int) -> None:
        archive = self.archive
        name = _safe_member_name(archive, raw)
        self._next = None
        if typeflag == _DIRECTORY:
            return
        if not name:
            raise PayloadError(f"{archive}: member {raw!r} has no file name")
        if typeflag not in _REGULAR:
            raise PayloadError(
                f"{archive}: member {raw!r} is a {_member_kind(typeflag, link)}; "
                "a payload archive holds only regular files"
            )
        if len(self._seen) >= self.limits.max_files:
            raise PayloadError(f"{archive}: more than {self.limits.max_files} files; refused")
        if size > self.limits.max_file_bytes:
            raise PayloadError(_too_large(f"{archive}:{name}", size, self.limits))
        self._total += size
        if self._total > self.limits.max_total_bytes:
            raise PayloadError(
                f"{archive}: more than {self.limits.max_total_bytes} bytes uncompressed; refused"
            )
        if name in self._seen:
            raise PayloadError(f"{archive}: member {name!r} appears twice")
        self._seen.add(name)
        label = self.prefix + name
        if PurePosixPath(name).name.startswith("."):
            return
        kind = _kind_of(name)
        if kind is None or kind == "archive":
            self.problems.add(label, "is not a payload file: an archive holds .csv and .json")
            return
        self._next = (label, kind)

    # The sink the reader writes the files' data into (directories and links never come:
    # screen refused the links).
    def directory(self, name: str) -> None:
        """Nothing to do: a payload archive's folders only group its files."""

    def begin_file(self, name: str, mode: int) -> None:
        self._current, self._next = self._next, None
        self._data.clear()

    def write(self, data: memoryview) -> None:
        if self._current is not None:
            self._data += data

    def end_file(self) -> None:
        if self._current is not None:
            label, kind = self._current
            sample = _parse_sample(label, kind, bytes(self._data), self.spec, self.problems)
            self.samples.append(sample)
        self._current = None
        self._data.clear()

    def hardlink(self, name: str, target: str, mode: int, size: int) -> None:
        raise AssertionError("screen refuses links")  # pragma: no cover


def _load_archive(
    fileobj: IO[bytes],
    archive: str,
    prefix: str,
    spec: RegistrationSpec,
    limits: PayloadLimits,
    problems: _Problems,
) -> list[PayloadSample]:
    """Read a payload .tar.gz as a stream, in memory, with the model archive's reader and its
    limits; refuse links, escapes and oversize members."""
    reader = _ArchiveReader(archive, prefix, spec, limits, problems)
    try:
        read_tar_gz(fileobj, archive, limits.archive, reader, reader.screen, allow_empty=True)
    except InvalidPackageError as exc:
        reason = str(exc).removeprefix(f"{archive}: ")
        raise PayloadError(f"{archive} is not a readable .tar.gz archive: {reason}") from exc
    except OSError as exc:
        raise PayloadError(f"{archive} is not a readable .tar.gz archive: {exc}") from exc
    return reader.samples


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
