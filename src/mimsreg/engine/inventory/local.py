"""The embedded local inventory: SQLite plus a content-addressed artifact store.

Layout under the inventory's root (``$MIMSREG_HOME``, default ``~/.mimsreg``)::

    inventory.db                                   SQLite, WAL, versioned schema
    artifacts/sha256/<digest>/model.tar.gz         artifacts, verified after every copy

Writers take ``BEGIN IMMEDIATE`` so concurrent processes serialise on the database lock instead of
failing half-way; a version's identity is UNIQUE per region and group, so a race can never produce
a duplicate version.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import tempfile
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mimsreg.engine.errors import InventoryError, NotFoundError
from mimsreg.engine.inventory.base import (
    ApprovalEvent,
    CreateOutcome,
    Inventory,
    Progress,
    VersionRecord,
    initial_history,
)
from mimsreg.engine.inventory.gc import Garbage, StoredObject, select_garbage
from mimsreg.engine.plan import RegionPlan, artifact_key, canonical_json

__all__ = ["LocalInventory", "default_home"]

COPY_CHUNK = 4 * 1024 * 1024
BUSY_TIMEOUT_SECONDS = 60.0
_SHA256 = re.compile(r"[0-9a-f]{64}")

# Each entry moves the schema one version up; PRAGMA user_version records how far a file is.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
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
    ),
)

_SUMMARY_COLUMNS = (
    "id, region, group_name, version, identity, sha256, artifact_uri, payload_uri, "
    "approval_status, created_at"
)


def default_home() -> Path:
    """``$MIMSREG_HOME``, or ``~/.mimsreg``."""
    configured = os.environ.get("MIMSREG_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".mimsreg"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class LocalInventory(Inventory):
    """SQLite inventory in ``database`` with artifacts under ``artifact_root``."""

    name = "local"

    def __init__(
        self,
        database: Path | None = None,
        artifact_root: Path | None = None,
        *,
        clock: Callable[[], str] = utc_now,
    ) -> None:
        home = default_home()
        # Absolute, so records hold file:// URIs that stay true from any working directory.
        self.database = (Path(database) if database else home / "inventory.db").absolute()
        self.artifact_root = (
            Path(artifact_root).absolute() if artifact_root else self.database.parent
        )
        self._clock = clock
        self._lock = threading.RLock()
        try:
            self.database.parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(
                str(self.database),
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
                check_same_thread=False,  # guarded by self._lock
            )
            self._connection.row_factory = sqlite3.Row
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=FULL")
            self._connection.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as exc:
            raise InventoryError(
                f"cannot open the local inventory {str(self.database)!r}: {exc}"
            ) from exc

    # --- plumbing -----------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the database lock from its first statement."""
        with self._lock:
            connection = self._connection
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise InventoryError(f"local inventory is locked or unwritable: {exc}") from exc
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            else:
                connection.execute("COMMIT")

    def _read(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return list(self._connection.execute(sql, parameters))
            except sqlite3.Error as exc:
                raise InventoryError(f"local inventory query failed: {exc}") from exc

    def _migrate(self) -> None:
        with self._write() as connection:
            current = int(connection.execute("PRAGMA user_version").fetchone()[0])
            if current > len(MIGRATIONS):
                raise InventoryError(
                    f"{str(self.database)!r} has schema version {current}, newer than this "
                    f"mimsreg knows ({len(MIGRATIONS)}): upgrade mimsreg"
                )
            for number, statements in enumerate(MIGRATIONS[current:], start=current + 1):
                for statement in statements:
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {number}")

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` answer ("ok" when sound)."""
        return str(self._read("PRAGMA integrity_check")[0][0])

    # --- artifacts ----------------------------------------------------------------------------
    def _store(self, source: Path, key: str, sha256: str | None, progress: Progress | None) -> Path:
        """Copy ``source`` to ``key`` in the store, verifying its digest; skip when present."""
        destination = self.artifact_root / key
        size = source.stat().st_size
        if destination.is_file() and destination.stat().st_size == size:
            # Only ever written by an atomic rename after verification: the name is the digest.
            # Touched so `mimsreg gc` sees it in use until the version that reuses it exists.
            os.utime(destination)
            if progress is not None:
                progress(size)
            return destination
        destination.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        handle, temporary = tempfile.mkstemp(prefix=".incoming-", dir=str(destination.parent))
        try:
            with source.open("rb") as reader, os.fdopen(handle, "wb") as writer:
                while True:
                    chunk = reader.read(COPY_CHUNK)
                    if not chunk:
                        break
                    digest.update(chunk)
                    writer.write(chunk)
                    if progress is not None:
                        progress(len(chunk))
                writer.flush()
                os.fsync(writer.fileno())
            if sha256 is not None and digest.hexdigest() != sha256:
                raise InventoryError(
                    f"{str(source)!r} changed while it was copied: sha256 "
                    f"{digest.hexdigest()} is not the inspected {sha256}"
                )
            Path(temporary).replace(destination)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return destination

    def stored_payload_file(self, sha256: str) -> Path | None:
        # The key is built from a checked digest, so no record can point it outside the store.
        if not _SHA256.fullmatch(sha256):
            return None
        path = self.artifact_root / artifact_key(sha256, "payload.tar.gz")
        return path if path.is_file() else None

    # --- the interface ------------------------------------------------------------------------
    def ensure_group(self, plan: RegionPlan) -> None:
        with self._write() as connection:
            connection.execute(
                "INSERT OR IGNORE INTO groups (region, name, description, tags, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    plan.region,
                    plan.group,
                    plan.record.get("description"),
                    canonical_json(plan.record.get("tags") or {}),
                    self._clock(),
                ),
            )

    def find_version(self, region: str, group: str, identity: str) -> VersionRecord | None:
        rows = self._read(
            f"SELECT {_SUMMARY_COLUMNS}, record FROM versions "
            "WHERE region = ? AND group_name = ? AND identity = ?",
            (region, group, identity),
        )
        return self._full_record(rows[0]) if rows else None

    def create_version(
        self,
        plan: RegionPlan,
        artifact: Path,
        payload: Path | None = None,
        progress: Progress | None = None,
    ) -> CreateOutcome:
        stored = self._store(artifact, plan.artifact_key, plan.sha256, progress)
        payload_uri = None
        if payload is not None and plan.payload_key is not None:
            payload_uri = self._store(payload, plan.payload_key, None, None).as_uri()
        record = dict(plan.record)
        with self._write() as connection:
            existing = connection.execute(
                "SELECT version FROM versions WHERE region = ? AND group_name = ? AND identity = ?",
                (plan.region, plan.group, plan.identity),
            ).fetchone()
            if existing is None:
                now = self._clock()
                connection.execute(
                    "INSERT OR IGNORE INTO groups (region, name, description, tags, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (plan.region, plan.group, record.get("description"), "{}", now),
                )
                number = int(
                    connection.execute(
                        "SELECT COALESCE(MAX(version), 0) + 1 FROM versions "
                        "WHERE region = ? AND group_name = ?",
                        (plan.region, plan.group),
                    ).fetchone()[0]
                )
                cursor = connection.execute(
                    "INSERT INTO versions (region, group_name, version, identity, sha256, size, "
                    "artifact_uri, payload_uri, approval_status, created_at, record) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        plan.region,
                        plan.group,
                        number,
                        plan.identity,
                        plan.sha256,
                        plan.size,
                        stored.as_uri(),
                        payload_uri,
                        str(record.get("approval_status")),
                        now,
                        canonical_json(record),
                    ),
                )
                connection.executemany(
                    "INSERT INTO approvals (version_id, status, actor, note, at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [
                        (cursor.lastrowid, e.status, e.actor, e.note, e.at)
                        for e in initial_history(record, now)
                    ],
                )
                created = True
            else:
                number, created = int(existing[0]), False
        return CreateOutcome(self.get_version(plan.region, plan.group, number), created)

    def download(
        self, region: str, uri: str, destination: Path, progress: Progress | None = None
    ) -> None:
        source = Path(urllib.request.url2pathname(urllib.parse.urlparse(uri).path))
        if not uri.startswith("file:") or not source.is_relative_to(self.artifact_root):
            raise InventoryError(f"{uri!r} is not a file of the local inventory's store")
        try:
            with source.open("rb") as reader, destination.open("wb") as writer:
                while chunk := reader.read(COPY_CHUNK):
                    writer.write(chunk)
                    if progress is not None:
                        progress(len(chunk))
        except OSError as exc:
            raise InventoryError(f"cannot read {uri!r} from the local inventory: {exc}") from exc

    def get_version(self, region: str, group: str, version: int) -> VersionRecord:
        rows = self._read(
            f"SELECT {_SUMMARY_COLUMNS}, record FROM versions "
            "WHERE region = ? AND group_name = ? AND version = ?",
            (region, group, version),
        )
        if not rows:
            raise NotFoundError(
                f"{group}/{version} is not in region {region} of the local inventory "
                f"{str(self.database)!r}"
            )
        return self._full_record(rows[0])

    def list_versions(
        self, region: str | None = None, group: str | None = None
    ) -> list[VersionRecord]:
        conditions, parameters = [], []
        if region is not None:
            conditions.append("region = ?")
            parameters.append(region)
        if group is not None:
            conditions.append("group_name = ?")
            parameters.append(group)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self._read(
            f"SELECT {_SUMMARY_COLUMNS} FROM versions {where} ORDER BY group_name, region, version",
            tuple(parameters),
        )
        return [self._summary_record(row) for row in rows]

    def set_approval(
        self,
        region: str,
        group: str,
        version: int,
        status: str,
        actor: str,
        note: str | None = None,
    ) -> VersionRecord:
        with self._write() as connection:
            row = connection.execute(
                "SELECT id FROM versions WHERE region = ? AND group_name = ? AND version = ?",
                (region, group, version),
            ).fetchone()
            if row is None:
                raise NotFoundError(f"{group}/{version} is not in region {region}")
            connection.execute(
                "UPDATE versions SET approval_status = ? WHERE id = ?", (status, row[0])
            )
            connection.execute(
                "INSERT INTO approvals (version_id, status, actor, note, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (row[0], status, actor, note, self._clock()),
            )
        return self.get_version(region, group, version)

    # --- garbage collection --------------------------------------------------------------------
    def _stored_files(self) -> list[StoredObject]:
        store = self.artifact_root / "artifacts"
        entries = []
        for path in sorted(store.rglob("*")) if store.is_dir() else []:
            try:
                status = path.stat()
            except FileNotFoundError:  # removed meanwhile (a temporary file renamed into place)
                continue
            if path.is_file():
                entries.append(
                    StoredObject(
                        key=path.relative_to(self.artifact_root).as_posix(),
                        location=str(path),
                        size=status.st_size,
                        modified=datetime.fromtimestamp(status.st_mtime, timezone.utc),
                    )
                )
        return entries

    def _referenced_keys(self, connection: sqlite3.Connection) -> set[str]:
        """Store keys of every artifact and payload a version points at, in this inventory and
        in any other one whose database sits beside it (``sqlite:///x/a.db`` and
        ``sqlite:///x/b.db`` share the store in ``x``)."""
        uris = list(connection.execute("SELECT artifact_uri, payload_uri FROM versions"))
        for other in sorted(self.artifact_root.glob("*.db")):
            if other.resolve() != self.database.resolve():
                uris.extend(self._uris_of(other))
        keys = set()
        for uri in (uri for row in uris for uri in row if uri):
            path = Path(urllib.request.url2pathname(urllib.parse.urlparse(uri).path))
            if path.is_relative_to(self.artifact_root):
                keys.add(path.relative_to(self.artifact_root).as_posix())
        return keys

    @staticmethod
    def _uris_of(database: Path) -> list[tuple[str | None, str | None]]:
        try:
            other = sqlite3.connect(str(database), timeout=BUSY_TIMEOUT_SECONDS)
            try:
                return list(other.execute("SELECT artifact_uri, payload_uri FROM versions"))
            finally:
                other.close()
        except sqlite3.Error as exc:
            if "no such table" in str(exc):  # not an inventory: it references nothing here
                return []
            raise InventoryError(
                f"cannot read the inventory {str(database)!r} that shares this artifact store, "
                f"so nothing is removed: {exc}"
            ) from exc

    def collect_garbage(
        self,
        older_than: float,
        *,
        regions: Sequence[str] | None = None,
        bucket: str | None = None,
        dry_run: bool = False,
    ) -> list[Garbage]:
        """Temporary and unreferenced files of the artifact store (shared by every region, so
        ``regions`` and ``bucket`` do not apply).

        Runs holding the write lock, so no version can start to reference a file between the
        decision and the removal; a file reused by a registration in flight was touched when it
        was reused, so it is younger than any sensible threshold.
        """
        with self._write() as connection:
            referenced = self._referenced_keys(connection)
            chosen = select_garbage(
                self._stored_files(), referenced, (), datetime.now(timezone.utc), older_than
            )
            if dry_run:
                return chosen
            for item in chosen:
                Path(item.location).unlink(missing_ok=True)
                self._remove_empty_folders(Path(item.location).parent)
        return [replace(item, removed=True) for item in chosen]

    def _remove_empty_folders(self, folder: Path) -> None:
        store = self.artifact_root / "artifacts"
        while folder != store and folder.is_relative_to(store):
            try:
                folder.rmdir()
            except OSError:  # not empty: something else lives there
                return
            folder = folder.parent

    # --- rows → records -----------------------------------------------------------------------
    @staticmethod
    def _summary_record(
        row: sqlite3.Row,
        record: dict[str, Any] | None = None,
        history: tuple[ApprovalEvent, ...] = (),
    ) -> VersionRecord:
        return VersionRecord(
            region=row["region"],
            group=row["group_name"],
            version=int(row["version"]),
            id=f"local:{row['region']}:{row['group_name']}/{row['version']}",
            sha256=row["sha256"],
            identity=row["identity"],
            approval_status=row["approval_status"],
            created_at=row["created_at"],
            artifact_uri=row["artifact_uri"],
            payload_uri=row["payload_uri"],
            record=record or {},
            approval_history=history,
        )

    def _full_record(self, row: sqlite3.Row) -> VersionRecord:
        history = tuple(
            ApprovalEvent(
                status=event["status"], actor=event["actor"], at=event["at"], note=event["note"]
            )
            for event in self._read(
                "SELECT status, actor, note, at FROM approvals WHERE version_id = ? ORDER BY id",
                (row["id"],),
            )
        )
        return self._summary_record(row, json.loads(row["record"]), history)
