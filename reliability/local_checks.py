"""What the local inventory must hold after any run, read from SQLite and the store directly.

Used after the crash run, the move run and the approval races (the SageMaker backend's S3
documents are checked by their own functions). Per version:

- *bytes*: its artifact and payload exist under the store and hash to the digest their content
  key names (the artifact's also to the version's recorded digest);
- *location*: both are recorded by content key relative to the store, never as an absolute path
  (the store may move);
- *record*: the JSON record parses and agrees with the row (identity, group, region, artifact and
  payload digests) and holds the variable schema the run registered;
- *approval history*: at least the ``registered`` event, ids and times in one order, and the
  version's status equal to the last event's.

Independent of mimsreg's own code on purpose: a check that reused the code under test would
agree with it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KEY = re.compile(r"artifacts/sha256/([0-9a-f]{64})/[A-Za-z0-9._-]+")
MIB = 1024 * 1024


@dataclass
class LocalDocuments:
    """What :func:`check_local_inventory` found."""

    versions: int = 0
    files: int = 0  # distinct artifacts and payloads read back and hashed
    events: int = 0  # approval events checked
    problems: list[str] = field(default_factory=list)


def sha256_of(path: Path) -> str | None:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        for chunk in iter(lambda: reader.read(4 * MIB), b""):
            digest.update(chunk)
    return digest.hexdigest()


def store_path(home: Path, location: str) -> Path:
    """The file a recorded location names: a key under ``home``, or (old records) a URI."""
    if location.startswith("file:"):
        return Path(urllib.parse.unquote(urllib.parse.urlparse(location).path))
    return home / location


def _check_file(
    home: Path,
    where: str,
    location: str | None,
    recorded: str | None,
    hashed: dict[Path, str | None],
    found: LocalDocuments,
) -> None:
    if not location:
        found.problems.append(f"{where}: no location recorded")
        return
    match = KEY.fullmatch(location)
    if match is None:
        found.problems.append(f"{where}: {location!r} is not a content key relative to the store")
    path = store_path(home, location)
    if path not in hashed:
        hashed[path] = sha256_of(path)
    actual = hashed[path]
    named = match.group(1) if match else None
    if actual is None:
        found.problems.append(f"{where}: {location!r} is missing")
    elif (named and actual != named) or (recorded and actual != recorded):
        found.problems.append(f"{where}: {location!r} does not verify ({actual})")


def _check_record(
    where: str, row: sqlite3.Row, schema: dict[str, Any] | None, found: LocalDocuments
) -> None:
    try:
        record = json.loads(row["record"])
    except ValueError as exc:
        found.problems.append(f"{where}: record does not parse: {exc}")
        return
    expected = {
        "identity": row["identity"],
        "model_package_group_name": row["group_name"],
        "registration_region": row["region"],
    }
    for name, value in expected.items():
        if record.get(name) != value:
            found.problems.append(f"{where}: record {name} {record.get(name)!r} is not {value!r}")
    if (record.get("artifact") or {}).get("sha256") != row["sha256"]:
        found.problems.append(f"{where}: record's artifact digest is not the version's")
    payload = KEY.fullmatch(row["payload_uri"] or "")
    if payload and record.get("payload_sha256") != payload.group(1):
        found.problems.append(f"{where}: record's payload digest is not the stored payload's")
    variables = record.get("variable_schema")
    if schema is not None and variables != schema:
        found.problems.append(f"{where}: variable schema {variables!r} is not the registered one")
    elif not (isinstance(variables, dict) and variables.get("input") and variables.get("output")):
        found.problems.append(f"{where}: no variable schema")


def _check_history(
    where: str, status: str, events: list[sqlite3.Row], found: LocalDocuments
) -> None:
    found.events += len(events)
    if not events or events[0]["note"] != "registered":
        found.problems.append(f"{where}: history does not start with the registration")
        return
    times = [event["at"] for event in events]
    if times != sorted(times):
        found.problems.append(f"{where}: history out of order: {times}")
    if events[-1]["status"] != status:
        found.problems.append(
            f"{where}: status {status!r} is not the last event's {events[-1]['status']!r}"
        )


def check_local_inventory(
    home: Path,
    database: Path | None = None,
    schema: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> LocalDocuments:
    """Every version of the inventory in ``home`` (database ``inventory.db`` unless named):
    bytes, locations, records and approval histories (see the module docstring)."""
    found = LocalDocuments()
    connection = sqlite3.connect(f"file:{database or home / 'inventory.db'}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    try:
        rows = connection.execute("SELECT * FROM versions ORDER BY id").fetchall()
        history = connection.execute("SELECT * FROM approvals ORDER BY id").fetchall()
    finally:
        connection.close()
    events: dict[int, list[sqlite3.Row]] = {}
    for event in history:
        events.setdefault(event["version_id"], []).append(event)
    hashed: dict[Path, str | None] = {}
    for row in rows:
        where = f"{row['region']} {row['group_name']}/{row['version']}"
        _check_file(home, f"{where} artifact", row["artifact_uri"], row["sha256"], hashed, found)
        if row["payload_uri"] is not None:
            _check_file(home, f"{where} payload", row["payload_uri"], None, hashed, found)
        _check_record(where, row, schema, found)
        _check_history(where, row["approval_status"], events.get(row["id"], []), found)
    found.versions, found.files = len(rows), len(hashed)
    if log is not None:
        log(
            f"local documents: {found.versions} versions, {found.files} files, "
            f"{found.events} approval events; {len(found.problems)} problem(s)"
        )
    return found
