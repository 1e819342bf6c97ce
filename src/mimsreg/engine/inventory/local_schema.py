"""The local inventory's SQLite schema, its migrations, and where a version's files live.

Portable (Python 3.9, standard library). A version records its artifact and payload by content
key, relative to the store (``artifacts/sha256/<digest>/model.tar.gz``), never by absolute path:
the inventory folder may be moved, copied or reached through a symlink and every key stays true.
Schema 1 kept absolute ``file://`` URIs; migration 2 rewrites those that name a content key whose
digest is the one recorded, and leaves any other location alone (``mimsreg gc`` then refuses to
run, since it cannot tell what such a version uses).
"""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

__all__ = [
    "MIGRATIONS",
    "content_key",
    "key_digest",
    "payload_digest",
]

# artifacts/sha256/<64 hex>/<file name>: what LocalInventory._store writes (plan.artifact_key).
_KEY = re.compile(r"artifacts/sha256/([0-9a-f]{64})/[A-Za-z0-9][A-Za-z0-9._-]*")

_SCHEMA_1 = (
    """CREATE TABLE groups (
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT,
        tags TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        PRIMARY KEY (region, name)
    )""",
    """CREATE TABLE versions (
        id INTEGER PRIMARY KEY,
        region TEXT NOT NULL,
        group_name TEXT NOT NULL,
        version INTEGER NOT NULL,
        identity TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        artifact_uri TEXT NOT NULL,
        payload_uri TEXT,
        approval_status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        record TEXT NOT NULL,
        UNIQUE (region, group_name, version),
        UNIQUE (region, group_name, identity),
        FOREIGN KEY (region, group_name) REFERENCES groups (region, name)
    )""",
    """CREATE TABLE approvals (
        id INTEGER PRIMARY KEY,
        version_id INTEGER NOT NULL REFERENCES versions (id),
        status TEXT NOT NULL,
        actor TEXT NOT NULL,
        note TEXT,
        at TEXT NOT NULL
    )""",
    "CREATE INDEX approvals_by_version ON approvals (version_id, id)",
)


def key_digest(key: str) -> str:
    """The digest a content key names (``key`` must be one: see :func:`content_key`)."""
    return key.split("/")[2]


def content_key(location: str | None, digest: str | None = None) -> str | None:
    """The store key a recorded location names, or None when it names none.

    ``location`` is a key (schema 2) or a ``file://`` URI ending in one (schema 1, wherever the
    store was then); ``digest``, when given, must be the one the key names.
    """
    if not location:
        return None
    if _KEY.fullmatch(location):
        key = location
    else:
        parsed = urllib.parse.urlparse(location)
        if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
            return None
        tail = "/".join(PurePosixPath(urllib.request.url2pathname(parsed.path)).parts[-4:])
        if not _KEY.fullmatch(tail):
            return None
        key = tail
    return key if digest is None or key_digest(key) == digest else None


def payload_digest(record_json: str) -> str | None:
    """The payload digest a version's record names (registrations with a payload record it)."""
    try:
        record: Any = json.loads(record_json)
    except ValueError:  # a damaged record names nothing
        return None
    value = record.get("payload_sha256") if isinstance(record, dict) else None
    return value if isinstance(value, str) else None


def _create_tables(connection: sqlite3.Connection) -> None:
    for statement in _SCHEMA_1:
        connection.execute(statement)


def _relative_locations(connection: sqlite3.Connection) -> None:
    """Schema 2: absolute ``file://`` URIs of content keys become the keys themselves."""
    rows = connection.execute(
        "SELECT id, sha256, artifact_uri, payload_uri, record FROM versions"
    ).fetchall()
    for version_id, sha256, artifact_uri, payload_uri, record in rows:
        artifact = content_key(artifact_uri, sha256) or artifact_uri
        payload: str | None = payload_uri
        if payload_uri:
            payload = content_key(payload_uri, payload_digest(record)) or payload_uri
        if (artifact, payload) != (artifact_uri, payload_uri):
            connection.execute(
                "UPDATE versions SET artifact_uri = ?, payload_uri = ? WHERE id = ?",
                (artifact, payload, version_id),
            )


def _tombstones(connection: sqlite3.Connection) -> None:
    """Schema 3: what the history keeps of a deleted version; its number is never given again."""
    connection.execute(
        """CREATE TABLE tombstones (
            id INTEGER PRIMARY KEY,
            region TEXT NOT NULL,
            group_name TEXT NOT NULL,
            version INTEGER NOT NULL,
            identity TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            record TEXT NOT NULL,
            history TEXT NOT NULL,
            deleted_at TEXT NOT NULL,
            deleted_by TEXT NOT NULL,
            note TEXT,
            UNIQUE (region, group_name, version)
        )"""
    )


# Each entry moves the schema one version up, inside the opener's write transaction (all of them
# or none); PRAGMA user_version records how far a file is.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _create_tables,
    _relative_locations,
    _tombstones,
)
