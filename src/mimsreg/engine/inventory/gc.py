"""Which leftovers of interrupted registrations may be removed: the decisions, without I/O.

Portable (Python 3.9, standard library). A registration killed part-way can leave behind what it
had written before its version existed: a temporary file in the local artifact store, a staged
artifact no version references, the record and schema documents of an identity that never became
a version, an incomplete S3 multipart upload, an expired create lock. A re-run of the same
registration picks most of them up again; ``mimsreg gc`` removes the ones nobody came back for.

Nothing younger than ``older_than`` is ever chosen, so a registration still in flight keeps what
it is writing: the threshold must exceed the longest registration (default 24 hours).

The backends list what they hold (:class:`StoredObject`, :class:`PendingUpload`) and what their
versions reference; :func:`select_garbage` decides; the backends remove what it chose.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mimsreg.engine.errors import BadInputError
from mimsreg.engine.inventory.create_lock import LEASE_SECONDS
from mimsreg.engine.plan import artifact_key

__all__ = [
    "DEFAULT_OLDER_THAN",
    "INCOMPLETE_UPLOAD",
    "STALE_LOCK",
    "TEMPORARY_FILE",
    "TEMPORARY_FOLDER",
    "TEMPORARY_FOLDER_PREFIXES",
    "UNREFERENCED_ARTIFACT",
    "UNREFERENCED_DOCUMENT",
    "Garbage",
    "PendingUpload",
    "StoredObject",
    "in_flight_keys",
    "in_flight_records",
    "parse_duration",
    "select_garbage",
    "select_temporary_folders",
    "select_uploads",
]

DEFAULT_OLDER_THAN = "24h"

TEMPORARY_FILE = "temporary-file"
UNREFERENCED_ARTIFACT = "unreferenced-artifact"
UNREFERENCED_DOCUMENT = "unreferenced-document"
INCOMPLETE_UPLOAD = "incomplete-upload"
STALE_LOCK = "stale-lock"
TEMPORARY_FOLDER = "temporary-folder"

TEMPORARY_PREFIX = ".incoming-"  # LocalInventory._store writes here, then renames into place
ARTIFACTS = "artifacts/"
LOCKS = "locks/"
# A create lock (mimsreg/locks/<group>.json, see create_lock) is a lease that its live holder
# renews by rewriting it: one older than twice the lease is stale, and none younger is removed
# whatever --older-than says, so gc never breaks a live holder's mutual exclusion.
MIN_LOCK_AGE = 2 * LEASE_SECONDS
DOCUMENTS = ("records/", "schemas/", "approvals/")  # <identity>.json, beside the artifacts
# Folders the CLI, the API and the processing job make in the system's temporary folder (sample
# payloads, model checks); a killed process cannot remove its own.
TEMPORARY_FOLDER_PREFIXES = ("mimsreg-payload-", "mimsreg-check-")

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(text: str) -> float:
    """Seconds in ``90s``, ``15m``, ``24h``, ``7d`` or a plain number of seconds."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise BadInputError(
            f"--older-than: {text!r} is not a duration (for example 30s, 15m, 24h, 7d)"
        )
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


@dataclass(frozen=True)
class StoredObject:
    """A file of the local store or an S3 object: ``key`` is relative to the store's root (the
    local ``$MIMSREG_HOME``, or the bucket's ``mimsreg/`` prefix); ``location`` names it whole."""

    key: str
    location: str
    size: int
    modified: datetime
    region: str | None = None


@dataclass(frozen=True)
class PendingUpload:
    """An S3 multipart upload that was started and neither completed nor aborted."""

    key: str
    location: str
    upload_id: str
    initiated: datetime
    region: str | None = None


@dataclass(frozen=True)
class Garbage:
    """One leftover chosen for removal; ``removed`` is False in a dry run."""

    kind: str
    location: str
    region: str | None
    size: int | None
    age_seconds: float
    removed: bool = False
    upload_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "region": self.region,
            "location": self.location,
            "size": self.size,
            "age_seconds": round(self.age_seconds, 3),
            "removed": self.removed,
        }
        if self.upload_id is not None:
            data["upload_id"] = self.upload_id
        return data


def _kind(
    entry: StoredObject, artifacts: Collection[str], identities: Collection[str]
) -> str | None:
    """Why ``entry`` is garbage, ignoring its age; None when it is in use or not ours."""
    name = entry.key.rsplit("/", 1)[-1]
    if name.startswith(TEMPORARY_PREFIX):
        return TEMPORARY_FILE
    if entry.key.startswith(LOCKS):
        return STALE_LOCK
    if entry.key.startswith(ARTIFACTS):
        return None if entry.key in artifacts else UNREFERENCED_ARTIFACT
    if entry.key.startswith(DOCUMENTS) and name.endswith(".json"):
        return None if name[: -len(".json")] in identities else UNREFERENCED_DOCUMENT
    return None


def _age(then: datetime, now: datetime) -> float:
    return (now - then).total_seconds()


def select_garbage(
    entries: Iterable[StoredObject],
    referenced_artifacts: Collection[str],
    referenced_identities: Collection[str],
    now: datetime,
    older_than: float,
) -> list[Garbage]:
    """The entries to remove: ours, referenced by no version, and older than ``older_than``.

    ``referenced_artifacts``: keys (as in ``StoredObject.key``) of every artifact and payload a
    version points at; ``referenced_identities``: identities that have a version, whose record,
    schema and approval documents stay. A lock is stale once older than the threshold and than
    ``MIN_LOCK_AGE`` (its holder renews a live one).
    """
    chosen = []
    for entry in entries:
        kind = _kind(entry, referenced_artifacts, referenced_identities)
        age = _age(entry.modified, now)
        threshold = max(older_than, MIN_LOCK_AGE) if kind == STALE_LOCK else older_than
        if kind is not None and age >= threshold:
            chosen.append(Garbage(kind, entry.location, entry.region, entry.size, age))
    return sorted(chosen, key=lambda g: (g.region or "", g.kind, g.location))


def in_flight_records(
    entries: Iterable[StoredObject],
    referenced_identities: Collection[str],
    now: datetime,
    older_than: float,
) -> list[StoredObject]:
    """Record documents younger than the threshold whose identity has no version yet: those of
    registrations in flight (or killed recently)."""
    return [
        entry
        for entry in entries
        if entry.key.startswith("records/")
        and entry.key.endswith(".json")
        and entry.key[len("records/") : -len(".json")] not in referenced_identities
        and _age(entry.modified, now) < older_than
    ]


def in_flight_keys(record: Any) -> set[str]:
    """Store keys of the artifact and payload a (record document of a) registration will use.

    An artifact found in place is reused as it is, so its age says nothing about whether a
    registration is about to reference it; the young record documents do.
    """
    if not isinstance(record, dict):
        return set()
    keys = set()
    artifact = record.get("artifact")
    if isinstance(artifact, dict) and isinstance(artifact.get("sha256"), str):
        keys.add(artifact_key(artifact["sha256"]))
    if isinstance(record.get("payload_sha256"), str):
        keys.add(artifact_key(record["payload_sha256"], "payload.tar.gz"))
    return keys


def select_uploads(
    uploads: Iterable[PendingUpload], now: datetime, older_than: float
) -> list[Garbage]:
    """Incomplete multipart uploads started more than ``older_than`` seconds ago."""
    chosen = [
        Garbage(
            INCOMPLETE_UPLOAD,
            upload.location,
            upload.region,
            None,
            _age(upload.initiated, now),
            upload_id=upload.upload_id,
        )
        for upload in uploads
        if _age(upload.initiated, now) >= older_than
    ]
    return sorted(chosen, key=lambda g: (g.region or "", g.location, g.upload_id or ""))


def select_temporary_folders(
    entries: Iterable[StoredObject], now: datetime, older_than: float
) -> list[Garbage]:
    """mimsreg's own folders in the system's temporary folder, older than ``older_than``."""
    chosen = [
        Garbage(TEMPORARY_FOLDER, entry.location, None, entry.size, _age(entry.modified, now))
        for entry in entries
        if entry.key.startswith(TEMPORARY_FOLDER_PREFIXES)
        and _age(entry.modified, now) >= older_than
    ]
    return sorted(chosen, key=lambda g: g.location)
