"""The payload stored with a version: a custom one checked against the schema, or generated."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from mimsreg.engine.payload.generate import archive_bytes, generate_payload_archive
from mimsreg.engine.payload.load import load_payload
from mimsreg.engine.payload.samples import PAYLOAD_ARCHIVE_NAME
from mimsreg.engine.spec import RegistrationSpec


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
