"""Generating sample payloads in the original's layout, byte for byte reproducible."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mimsreg.engine.errors import PayloadError
from mimsreg.engine.payload.samples import (
    _EXTENSIONS,
    CSV_CONTENT_TYPE,
    MAX_ROWS,
    PAYLOAD_ARCHIVE_NAME,
    SUPPORTED_CONTENT_TYPES,
    PayloadArchive,
    PayloadLimits,
    PayloadSample,
    Record,
    _sample_values,
    _text,
)
from mimsreg.engine.spec import RegistrationSpec, SampleValue

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
