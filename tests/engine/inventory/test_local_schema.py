"""Schema 2 of the local inventory: databases written by schema 1 (absolute file:// URIs, from
before content keys were relative) open, migrate in one transaction, and keep every file."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest

from mimsreg.engine.inventory.local import LocalInventory
from mimsreg.engine.inventory.local_schema import MIGRATIONS, content_key
from mimsreg.errors import InventoryError
from tests.support.cli import invoke

# Schema 1 as mimsreg wrote it before content keys became relative: frozen here, on purpose not
# taken from the code under test.
SCHEMA_1 = """
CREATE TABLE groups (
    region TEXT NOT NULL, name TEXT NOT NULL, description TEXT,
    tags TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL, PRIMARY KEY (region, name));
CREATE TABLE versions (
    id INTEGER PRIMARY KEY, region TEXT NOT NULL, group_name TEXT NOT NULL,
    version INTEGER NOT NULL, identity TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    artifact_uri TEXT NOT NULL, payload_uri TEXT, approval_status TEXT NOT NULL,
    created_at TEXT NOT NULL, record TEXT NOT NULL,
    UNIQUE (region, group_name, version), UNIQUE (region, group_name, identity),
    FOREIGN KEY (region, group_name) REFERENCES groups (region, name));
CREATE TABLE approvals (
    id INTEGER PRIMARY KEY, version_id INTEGER NOT NULL REFERENCES versions (id),
    status TEXT NOT NULL, actor TEXT NOT NULL, note TEXT, at TEXT NOT NULL);
CREATE INDEX approvals_by_version ON approvals (version_id, id);
PRAGMA user_version = 1;
"""
GROUP = "Fraud"
OLD_HOME = Path("/home/someone/old place/.mimsreg")  # where the store was: spaces quoted in URIs


@pytest.fixture(autouse=True)
def system_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """gc also cleans the system's temporary folder: here, a private one."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))


def put(home: Path, content: bytes, name: str) -> tuple[str, str]:
    """A file in the store (as schema 1 left it, 0644 and old); its digest and key."""
    digest = hashlib.sha256(content).hexdigest()
    key = f"artifacts/sha256/{digest}/{name}"
    (home / key).parent.mkdir(parents=True, exist_ok=True)
    (home / key).write_bytes(content)
    then = time.time() - 7200
    os.utime(home / key, (then, then))
    return digest, key


def old_inventory(home: Path, artifact_uri: str | None = None) -> dict[str, str]:
    """A schema-1 database in ``home``, its two versions' URIs under OLD_HOME (the store was
    moved since); returns key → digest of the files in use."""
    home.mkdir(parents=True, exist_ok=True)
    first, first_key = put(home, b"weights one", "model.tar.gz")
    second, second_key = put(home, b"weights two", "model.tar.gz")
    payload, payload_key = put(home, b"payload", "payload.tar.gz")
    connection = sqlite3.connect(home / "inventory.db")
    connection.executescript(SCHEMA_1)
    with connection:
        connection.execute(
            "INSERT INTO groups VALUES ('us-east-1', ?, NULL, '{}', '2026-01-01T00:00:00Z')",
            (GROUP,),
        )
        for number, digest, key in ((1, first, first_key), (2, second, second_key)):
            record = {"artifact": {"sha256": digest}, "payload_sha256": payload, "note": number}
            connection.execute(
                "INSERT INTO versions (region, group_name, version, identity, sha256, size, "
                "artifact_uri, payload_uri, approval_status, created_at, record) "
                "VALUES ('us-east-1', ?, ?, ?, ?, 11, ?, ?, 'PendingManualApproval', "
                "'2026-01-01T00:00:00Z', ?)",
                (
                    GROUP,
                    number,
                    f"identity-{number}",
                    digest,
                    (artifact_uri if number == 2 and artifact_uri else (OLD_HOME / key).as_uri()),
                    (OLD_HOME / payload_key).as_uri(),
                    json.dumps(record),
                ),
            )
            connection.execute(
                "INSERT INTO approvals (version_id, status, actor, note, at) VALUES "
                "(?, 'PendingManualApproval', 'someone', 'registered', '2026-01-01T00:00:00Z')",
                (number,),
            )
    connection.close()
    return {first_key: first, second_key: second, payload_key: payload}


def raw(database: Path) -> tuple[int, list[tuple[str, str]]]:
    connection = sqlite3.connect(database)
    try:
        version = int(connection.execute("PRAGMA user_version").fetchone()[0])
        rows = connection.execute(
            "SELECT artifact_uri, payload_uri FROM versions ORDER BY id"
        ).fetchall()
    finally:
        connection.close()
    return version, [tuple(row) for row in rows]


def test_the_old_uri_shape_is_recognised() -> None:
    digest = "ab" * 32
    key = f"artifacts/sha256/{digest}/model.tar.gz"
    assert content_key((OLD_HOME / key).as_uri(), digest) == key
    assert content_key(key, digest) == key
    assert content_key(key, "cd" * 32) is None  # another digest than the recorded one
    assert content_key("file:///srv/models/model.tar.gz") is None
    assert content_key(f"s3://bucket/mimsreg/{key}") is None
    assert content_key(f"file://otherhost/{key}") is None
    assert content_key(f"artifacts/sha256/{digest}/../../../../etc/passwd") is None
    assert content_key("/" + key) is None


def test_a_schema_1_inventory_is_migrated_and_gc_keeps_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "moved-home"
    live = old_inventory(home)
    monkeypatch.setenv("MIMSREG_HOME", str(home))
    with LocalInventory() as inventory:
        shown = inventory.get_version("us-east-1", GROUP, 2)
        assert [e.note for e in shown.approval_history] == ["registered"]
    assert len(MIGRATIONS) == 3  # 2: content keys, 3: tombstones
    version, rows = raw(home / "inventory.db")
    assert version == len(MIGRATIONS)
    first_key, second_key, payload_key = live  # keys, relative, for versions 1 and 2
    assert rows == [(first_key, payload_key), (second_key, payload_key)]
    assert shown.artifact_uri == (home / rows[1][0]).as_uri()  # where it is now
    assert shown.payload_uri == (home / payload_key).as_uri()

    result = invoke("gc", "--older-than", "0s", "--json")
    assert (result.exit_code, result.stdout.strip()) == (0, "[]"), result.output
    assert {key: hashlib.sha256((home / key).read_bytes()).hexdigest() for key in live} == live


def test_a_location_that_is_no_content_key_is_kept_and_gc_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration leaves what it cannot place alone; gc then removes nothing and says why."""
    home = tmp_path / "home"
    live = old_inventory(home, artifact_uri="file:///srv/models/fraud.tar.gz")
    monkeypatch.setenv("MIMSREG_HOME", str(home))
    LocalInventory().close()
    version, rows = raw(home / "inventory.db")
    assert version == len(MIGRATIONS)
    assert rows[1][0] == "file:///srv/models/fraud.tar.gz"
    assert not rows[0][0].startswith("file:")
    result = invoke("gc", "--older-than", "0s")
    assert result.exit_code == 2
    assert f"{GROUP}/2 in us-east-1" in result.stderr
    assert all((home / key).exists() for key in live)


def test_the_migration_is_one_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration that fails part-way leaves the database exactly as schema 1 left it."""
    home = tmp_path / "home"
    old_inventory(home)
    before = raw(home / "inventory.db")

    def fails(connection: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("disk I/O error (simulated)")

    monkeypatch.setattr("mimsreg.engine.inventory.local.MIGRATIONS", (*MIGRATIONS, fails))
    with pytest.raises(InventoryError, match="simulated"):
        LocalInventory(home / "inventory.db")
    assert raw(home / "inventory.db") == before
    assert before[0] == 1


@pytest.mark.parametrize(
    "command",
    [("list",), ("show", f"{GROUP}/1"), ("gc", "--dry-run", "--older-than", "0s")],
    ids=lambda command: command[0],
)
def test_read_only_commands_leave_a_schema_1_database_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    """A reader never migrates (it opens mode=ro); it reads schema 1 and shows where the files
    are now. A writer (approve) migrates."""
    home = tmp_path / "home"
    live = old_inventory(home)
    monkeypatch.setenv("MIMSREG_HOME", str(home))
    result = invoke(*command, "--json")
    assert result.exit_code == 0, result.output
    assert raw(home / "inventory.db")[0] == 1
    if command[0] == "show":
        key = f"artifacts/sha256/{json.loads(result.stdout)['sha256']}/model.tar.gz"
        assert key in live
        assert json.loads(result.stdout)["artifact_uri"] == (home / key).as_uri()
    if command[0] == "gc":
        assert json.loads(result.stdout) == []
    assert invoke("approve", f"{GROUP}/1").exit_code == 0
    assert raw(home / "inventory.db")[0] == len(MIGRATIONS)


def test_a_read_only_ui_leaves_a_schema_1_database_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    home = tmp_path / "home"
    old_inventory(home)
    monkeypatch.setenv("MIMSREG_HOME", str(home))
    served: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    assert invoke("ui").exit_code == 0
    assert served
    assert raw(home / "inventory.db")[0] == 1
    assert invoke("ui", "--allow-writes").exit_code == 0
    assert raw(home / "inventory.db")[0] == len(MIGRATIONS)
