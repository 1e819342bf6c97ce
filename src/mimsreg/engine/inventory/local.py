"""The embedded local inventory: SQLite plus a content-addressed artifact store.

Layout under the inventory's root (``$MIMSREG_HOME``, default ``~/.mimsreg``)::

    inventory.db                                   SQLite, WAL, versioned schema (local_schema)
    artifacts/sha256/<digest>/model.tar.gz         artifacts, verified after every copy
    artifacts/sha256/<digest>/manifest.json        a model folder's manifest (its digest is the
                                                   folder's identity), and each of its files at
    artifacts/sha256/<file digest>/file            content-addressed per file (shared, deduplicated)

A version records its files by content key, relative to the root, so the folder can move. The
root is created 0700 and every file 0600: the inventory decides what may be deployed, and other
users of the machine have no business reading or changing it. Read-only openers (``list``,
``show``, a read-only ``ui``, ``gc --dry-run``) connect with ``mode=ro``: they never create or
change a database and work on an inventory they may not write.

Writers take ``BEGIN IMMEDIATE`` so concurrent processes serialise on the database lock instead of
failing half-way; a version's identity is UNIQUE per region and group, so a race can never produce
a duplicate version.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import re
import sqlite3
import tempfile
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from mimsreg.engine.errors import BadInputError, InventoryError, NotFoundError
from mimsreg.engine.inventory.base import (
    ApprovalEvent,
    CreateOutcome,
    Inventory,
    Progress,
    Tombstone,
    VersionRecord,
    initial_history,
)
from mimsreg.engine.inventory.gc import Garbage, StoredObject, select_garbage
from mimsreg.engine.inventory.lifecycle import edited_record
from mimsreg.engine.inventory.local_schema import (
    MIGRATIONS,
    content_key,
    key_digest,
    payload_digest,
)
from mimsreg.engine.package import MANIFEST_NAME, manifest_document
from mimsreg.engine.plan import RegionPlan, artifact_key, canonical_json

__all__ = [
    "MIGRATIONS",
    "LocalInventory",
    "default_home",
    "make_private_folder",
    "open_read_only",
]

COPY_CHUNK = 4 * 1024 * 1024
FOLDER_FILE_NAME = "file"  # a model folder's file in the store: artifacts/sha256/<digest>/file
FOLDER_COPIES = 4  # files of a model folder copied at once
BUSY_TIMEOUT_SECONDS = 60.0
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600
_SHA256 = re.compile(r"[0-9a-f]{64}")

# What garbage collection needs of each version: where its files are and their digests.
_FILES = (
    "SELECT region, group_name, version, sha256, artifact_uri, payload_uri, record FROM versions"
)

_SUMMARY_COLUMNS = (
    "id, region, group_name, version, identity, sha256, artifact_uri, payload_uri, "
    "approval_status, created_at"
)
# The next number of a group in a region: past every version, deleted ones included.
_NEXT_NUMBER = (
    "SELECT COALESCE(MAX(version), 0) + 1 FROM (SELECT version FROM versions "
    "WHERE region = ? AND group_name = ? UNION ALL SELECT version FROM tombstones "
    "WHERE region = ? AND group_name = ?)"
)
# What a listed version carries of its record (owner and domain, and the objective the UI's
# groups page shows): one json_extract of the three paths, so a row's record is parsed once.
_LISTED_KEYS = ("model_owner", "model_registration_domain", "model_registration_objective")
_LISTED_COLUMN = (
    "json_extract(record, " + ", ".join(f"'$.{key}'" for key in _LISTED_KEYS) + ") AS listed"
)


def _listed(values: str | None) -> dict[str, Any]:
    """The record's listed keys, from the JSON array json_extract gave (nulls left out)."""
    try:
        found = json.loads(values) if values else []
    except ValueError:
        return {}
    pairs = zip(_LISTED_KEYS, found) if isinstance(found, list) else ()
    return {key: value for key, value in pairs if value is not None}


def default_home() -> Path:
    """``$MIMSREG_HOME``, or ``~/.mimsreg``."""
    configured = os.environ.get("MIMSREG_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".mimsreg"


def _digest_folder(key: str) -> str | None:
    """The digest folder a stored file's key sits in (``artifacts/sha256/<digest>/...``)."""
    parts = key.split("/")
    return parts[2] if len(parts) == 4 and parts[:2] == ["artifacts", "sha256"] else None


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def open_read_only(
    database: Path, isolation_level: Literal["DEFERRED"] | None = "DEFERRED"
) -> sqlite3.Connection:
    """A connection to an existing database that cannot write (``mode=ro``), even where the
    folder or the file is read-only."""
    # An empty authority: a path written with a leading // must not be read as a host name.
    target = f"file://{urllib.parse.quote(str(database.absolute()))}?mode=ro"

    def connect(uri: str) -> sqlite3.Connection:
        return sqlite3.connect(
            uri,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=isolation_level,
            check_same_thread=False,  # LocalInventory guards it with its lock
            uri=True,
        )

    connection = connect(target)
    try:
        connection.execute("PRAGMA user_version").fetchone()
    except sqlite3.OperationalError:
        connection.close()
        if os.access(str(database.parent), os.W_OK):
            raise
        # A WAL database needs its -shm file, which a reader cannot create in a folder it may
        # not write; no writer has the database open when that file is absent (the last one
        # removes it), so it is read as it is on disk.
        connection = connect(target + "&immutable=1")
    return connection


def make_private_folder(folder: Path) -> None:
    """``folder`` and any missing parent, each created 0700 (``mkdir -p`` would apply the umask
    only, and ``Path.mkdir(mode=...)`` gives parents the default mode)."""
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_FOLDER)
        except FileExistsError:  # made meanwhile by a concurrent opener (or a file: mkdir says)
            if not path.is_dir():
                raise


class LocalInventory(Inventory):
    """SQLite inventory in ``database`` with artifacts under ``artifact_root``.

    ``read_only``: connect with ``mode=ro`` (no migration, no write, nothing created); a database
    that does not exist is :class:`NotFoundError`, or an empty inventory held in memory when
    ``empty_when_missing`` (the default home before anything was registered).
    """

    name = "local"

    def __init__(
        self,
        database: Path | None = None,
        artifact_root: Path | None = None,
        *,
        clock: Callable[[], str] = utc_now,
        read_only: bool = False,
        empty_when_missing: bool = False,
    ) -> None:
        home = default_home()
        # Absolute, so the records shown hold file:// URIs true from any working directory.
        self.database = (Path(database) if database else home / "inventory.db").absolute()
        self.artifact_root = (
            Path(artifact_root).absolute() if artifact_root else self.database.parent
        )
        self.read_only = read_only
        self._clock = clock
        self._lock = threading.RLock()
        try:
            if not read_only:
                self._connection = self._connect_writable()
                self._migrate()
            elif self.database.is_file():
                self._connection = self._connect_read_only()
                self._check_schema()
            elif empty_when_missing:
                self._connection = self._connect(":memory:")
                self._migrate()
                self._connection.execute("PRAGMA query_only = ON")
            else:
                raise NotFoundError(
                    f"no local inventory at {str(self.database)!r}: nothing is registered there "
                    "(a read opens it read-only and never creates one; check --inventory)"
                )
        except (sqlite3.Error, OSError) as exc:
            raise InventoryError(
                f"cannot open the local inventory {str(self.database)!r}: {exc}"
            ) from exc

    # --- plumbing -----------------------------------------------------------------------------
    def _connect(self, target: str, *, uri: bool = False) -> sqlite3.Connection:
        connection = sqlite3.connect(
            target,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
            check_same_thread=False,  # guarded by self._lock
            uri=uri,
        )
        connection.row_factory = sqlite3.Row
        return connection

    def _connect_writable(self) -> sqlite3.Connection:
        make_private_folder(self.database.parent)
        # Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the same mode.
        os.close(os.open(str(self.database), os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
        connection = self._connect(str(self.database))
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        return connection

    def _connect_read_only(self) -> sqlite3.Connection:
        connection = open_read_only(self.database, isolation_level=None)
        connection.row_factory = sqlite3.Row
        return connection

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the database lock from its first statement."""
        if self.read_only:
            raise InventoryError(f"the local inventory {str(self.database)!r} was opened read-only")
        with self._transaction() as connection:
            yield connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
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

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """One consistent read (a read transaction), for a read-only opener."""
        with self._lock:
            connection = self._connection
            connection.execute("BEGIN")
            try:
                yield connection
            finally:
                connection.execute("ROLLBACK")

    def _read(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return list(self._connection.execute(sql, parameters))
            except sqlite3.Error as exc:
                raise InventoryError(f"local inventory query failed: {exc}") from exc

    def _schema_version(self, connection: sqlite3.Connection) -> int:
        current = int(connection.execute("PRAGMA user_version").fetchone()[0])
        if current > len(MIGRATIONS):
            raise InventoryError(
                f"{str(self.database)!r} has schema version {current}, newer than this "
                f"mimsreg knows ({len(MIGRATIONS)}): upgrade mimsreg"
            )
        return current

    def _migrate(self) -> None:
        with self._transaction() as connection:
            current = self._schema_version(connection)
            for number, migration in enumerate(MIGRATIONS[current:], start=current + 1):
                migration(connection)
                connection.execute(f"PRAGMA user_version = {number}")

    def _check_schema(self) -> None:
        """A read-only opener cannot migrate: schema 1 is read as it is (see local_schema)."""
        if self._schema_version(self._connection) == 0:
            raise NotFoundError(f"{str(self.database)!r} is not a mimsreg inventory")

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
        make_private_folder(destination.parent)
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

    def _store_folder(self, plan: RegionPlan, folder: Path, progress: Progress | None) -> None:
        """A model folder: each file content-addressed (verified as it is copied), then its
        manifest document, whose digest is the folder's, so it names only verified files."""
        document = manifest_document(plan.files)
        if hashlib.sha256(document).hexdigest() != plan.sha256:
            raise InventoryError(f"{str(folder)!r}: the planned file list is not its manifest")

        def copy(index: int) -> None:
            entry = plan.files[index]
            key = artifact_key(entry.sha256, FOLDER_FILE_NAME)
            self._store(folder / entry.path, key, entry.sha256, progress)

        with concurrent.futures.ThreadPoolExecutor(FOLDER_COPIES, "mimsreg-store") as pool:
            list(pool.map(copy, range(len(plan.files))))
        destination = self.artifact_root / plan.artifact_key
        if destination.is_file() and destination.read_bytes() == document:
            os.utime(destination)  # in use again: gc leaves it (as _store does)
            return
        make_private_folder(destination.parent)
        handle, temporary = tempfile.mkstemp(prefix=".incoming-", dir=str(destination.parent))
        try:
            with os.fdopen(handle, "wb") as writer:
                writer.write(document)
                writer.flush()
                os.fsync(writer.fileno())
            Path(temporary).replace(destination)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def folder_files(self, manifest_key: str) -> list[tuple[str, int, str]]:
        """The (path, size, sha256) rows of a stored model folder's manifest document."""
        try:
            rows = json.loads((self.artifact_root / manifest_key).read_bytes())
            return [(str(path), int(size), str(digest)) for path, size, digest in rows]
        except (OSError, ValueError, TypeError) as exc:
            raise InventoryError(
                f"the model folder manifest {manifest_key!r} of the local store is missing or "
                f"unreadable: {exc}"
            ) from exc

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
        if plan.is_folder:
            self._store_folder(plan, artifact, progress)
        else:
            self._store(artifact, plan.artifact_key, plan.sha256, progress)
        payload_location = None
        record = dict(plan.record)
        if payload is not None and plan.payload_key is not None:
            self._store(payload, plan.payload_key, key_digest(plan.payload_key), None)
            payload_location = plan.payload_key
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
                where = (plan.region, plan.group)
                number = int(connection.execute(_NEXT_NUMBER, where + where).fetchone()[0])
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
                        plan.artifact_key,  # relative: the store may move (local_schema)
                        payload_location,
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
        # By content key, not by path: the URI may name the store where it was (moved, or
        # reached through a symlink); the key cannot leave the store.
        key = content_key(uri)
        if key is None:
            raise InventoryError(f"{uri!r} is not a file of the local inventory's store")
        source = self.artifact_root / key
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
            f"SELECT {_SUMMARY_COLUMNS}, {_LISTED_COLUMN} FROM versions {where} "
            "ORDER BY group_name, region, version",
            tuple(parameters),
        )
        return [self._summary_record(row, _listed(row["listed"])) for row in rows]

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

    # --- a version's life after registration --------------------------------------------------
    def _version_row(
        self, connection: sqlite3.Connection, region: str, group: str, version: int
    ) -> sqlite3.Row:
        row = connection.execute(
            f"SELECT {_SUMMARY_COLUMNS}, record FROM versions "
            "WHERE region = ? AND group_name = ? AND version = ?",
            (region, group, version),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"{group}/{version} is not in region {region}")
        return row  # type: ignore[no-any-return]

    def update_version(
        self,
        region: str,
        group: str,
        version: int,
        *,
        actor: str,
        tags: Mapping[str, str] | None = None,
        remove_tags: Sequence[str] = (),
        description: str | None = None,
    ) -> VersionRecord:
        with self._write() as connection:
            row = self._version_row(connection, region, group, version)
            record = edited_record(json.loads(row["record"]), tags, remove_tags, description)
            connection.execute(
                "UPDATE versions SET record = ? WHERE id = ?", (canonical_json(record), row["id"])
            )
        return self.get_version(region, group, version)

    def delete_version(
        self, region: str, group: str, version: int, actor: str, note: str | None = None
    ) -> Tombstone:
        """The row goes, a tombstone stays (in one transaction); the artifact stays in the
        store until ``gc`` finds no version referencing it."""
        with self._write() as connection:
            row = self._version_row(connection, region, group, version)
            current = self._full_record(row)
            tombstone = Tombstone(
                region,
                group,
                version,
                current.identity,
                current.sha256,
                self._clock(),
                actor,
                note,
                current.approval_history,
            )
            history = [event.to_dict() for event in current.approval_history]
            connection.execute(
                "INSERT INTO tombstones (region, group_name, version, identity, sha256, record, "
                "history, deleted_at, deleted_by, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    region,
                    group,
                    version,
                    current.identity,
                    current.sha256,
                    row["record"],
                    canonical_json(history),
                    tombstone.deleted_at,
                    actor,
                    note,
                ),
            )
            connection.execute("DELETE FROM approvals WHERE version_id = ?", (row["id"],))
            connection.execute("DELETE FROM versions WHERE id = ?", (row["id"],))
        return tombstone

    def tombstone(self, region: str, group: str, version: int) -> Tombstone | None:
        try:
            rows = self._read(
                "SELECT identity, sha256, history, deleted_at, deleted_by, note FROM tombstones "
                "WHERE region = ? AND group_name = ? AND version = ?",
                (region, group, version),
            )
        except InventoryError:
            if self._read("SELECT name FROM sqlite_master WHERE name = 'tombstones'"):
                raise
            return None  # an older schema opened read-only: nothing was ever deleted with it
        if not rows:
            return None
        row = rows[0]
        history = tuple(
            ApprovalEvent(str(e["status"]), str(e["actor"]), str(e["at"]), e.get("note"))
            for e in json.loads(row["history"])
        )
        return Tombstone(
            region,
            group,
            version,
            row["identity"],
            row["sha256"],
            row["deleted_at"],
            row["deleted_by"],
            row["note"],
            history,
        )

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

    def _referenced_keys(
        self, connection: sqlite3.Connection, stored: list[StoredObject]
    ) -> set[str]:
        """Keys of the stored files whose digest a version records, in this inventory and in
        any other one whose database sits beside it (``sqlite:///x/a.db`` and
        ``sqlite:///x/b.db`` share the store in ``x``).

        Decided by digest, never by path, so a moved or symlinked store keeps every file in use;
        :class:`BadInputError` (nothing removed) while a version records a file by anything but
        a content key, since what it uses cannot be known then.
        """
        sources = [(self.database, list(connection.execute(_FILES)))]
        for other in sorted(self.artifact_root.glob("*.db")):
            if other.resolve() != self.database.resolve():
                sources.append((other, self._files_of(other)))
        digests: set[str] = set()
        outside: list[str] = []
        for database, rows in sources:
            for region, group, version, sha256, artifact, payload, record in rows:
                keys = [content_key(artifact, sha256)]
                if payload:
                    keys.append(content_key(payload, payload_digest(record)))
                for key, location in zip(keys, (artifact, payload)):
                    if key is None:
                        outside.append(
                            f"{group}/{version} in {region} ({database.name}): {location!r}"
                        )
                    else:
                        digests.add(key_digest(key))
                        if key.endswith("/" + MANIFEST_NAME):  # a model folder: its files too
                            digests.update(row[2] for row in self.folder_files(key))
        if outside:
            more = f" and {len(outside) - 3} more" if len(outside) > 3 else ""
            raise BadInputError(
                f"gc removes nothing: versions record files outside the content-addressed store "
                f"{str(self.artifact_root)!r}: {'; '.join(outside[:3])}{more}"
            )
        return {entry.key for entry in stored if _digest_folder(entry.key) in digests}

    @staticmethod
    def _files_of(database: Path) -> list[tuple[Any, ...]]:
        try:
            other = open_read_only(database)
            try:
                return [tuple(row) for row in other.execute(_FILES)]
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

        Runs holding the write lock (a read-only opener: a consistent read, and only a dry
        run), so no version can start to reference a file between the decision and the removal;
        a file reused by a registration in flight was touched when it was reused, so it is
        younger than any sensible threshold.
        """
        if self.read_only and not dry_run:
            raise InventoryError(
                f"the local inventory {str(self.database)!r} was opened read-only: gc can only "
                "list (--dry-run)"
            )
        with self._snapshot() if self.read_only else self._write() as connection:
            stored = self._stored_files()
            referenced = self._referenced_keys(connection, stored)
            chosen = select_garbage(stored, referenced, (), datetime.now(timezone.utc), older_than)
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
    def _uri(self, location: str) -> str:
        """Where a recorded location is now: a content key under this store's root, as a
        ``file://`` URI; anything else as it was recorded."""
        key = content_key(location)
        return (self.artifact_root / key).as_uri() if key else location

    def _summary_record(
        self,
        row: sqlite3.Row,
        record: dict[str, Any],
        history: tuple[ApprovalEvent, ...] = (),
    ) -> VersionRecord:
        """``record``: the whole record, or (a listing) its listed keys: owner and domain too."""
        return VersionRecord(
            region=row["region"],
            group=row["group_name"],
            version=int(row["version"]),
            id=f"local:{row['region']}:{row['group_name']}/{row['version']}",
            sha256=row["sha256"],
            identity=row["identity"],
            approval_status=row["approval_status"],
            created_at=row["created_at"],
            artifact_uri=self._uri(row["artifact_uri"]),
            payload_uri=self._uri(row["payload_uri"]) if row["payload_uri"] else None,
            record=record,
            approval_history=history,
            owner=str(record.get("model_owner") or ""),
            domain=str(record.get("model_registration_domain") or ""),
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
