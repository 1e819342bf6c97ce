"""The local store is addressed by content: moving it or reaching it through a symlink changes
nothing, gc decides by digest, files are private, and reads never write."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mimsreg.engine.inventory import open_inventory
from mimsreg.engine.inventory.local import LocalInventory, default_home
from mimsreg.errors import InventoryError, NotFoundError
from tests.conftest import EXAMPLE_CONFIG
from tests.support.cli import invoke
from tests.support.helpers import write_model_archive

GROUP = "BuyerSellerMessaging-FraudDetection"
HOUR = 3600.0


@pytest.fixture(autouse=True)
def system_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """gc also cleans the system's temporary folder: here, a private one."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))


def register(model: Path, *extra: str) -> None:
    result = invoke("register", model, "--config", EXAMPLE_CONFIG, *extra)
    assert result.exit_code == 0, result.output


def live_files(home: Path) -> dict[str, str]:
    """Every file a version records, relative to the store, with its SHA-256 (read directly)."""
    connection = sqlite3.connect(home / "inventory.db")
    try:
        rows = connection.execute("SELECT artifact_uri, payload_uri FROM versions").fetchall()
    finally:
        connection.close()
    keys = {key for row in rows for key in row if key}
    return {key: hashlib.sha256((home / key).read_bytes()).hexdigest() for key in keys}


def age_everything(home: Path, seconds: float = 2 * HOUR) -> None:
    then = time.time() - seconds
    for path in (home / "artifacts").rglob("*"):
        os.utime(path, (then, then))


def plant_orphan(home: Path) -> Path:
    """An old artifact no version records: gc must remove it (so a gc that removes nothing at
    all cannot pass for one that keeps what is in use)."""
    orphan = home / "artifacts" / "sha256" / ("f" * 64) / "model.tar.gz"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"staged by a killed registration")
    return orphan


@pytest.fixture
def two_versions(tmp_path: Path) -> dict[str, str]:
    """Two models registered (each with its generated payload) in the default home."""
    register(write_model_archive(tmp_path / "a" / "model.tar.gz", b"weights a"))
    register(write_model_archive(tmp_path / "b" / "model.tar.gz", b"weights b"))
    files = live_files(default_home())
    assert len(files) == 3  # two artifacts and the payload they share (same schema)
    return files


def test_versions_record_content_keys_not_paths(two_versions: dict[str, str]) -> None:
    """Nothing in the database names the folder the store is in."""
    home = default_home()
    for key, digest in two_versions.items():
        assert key == f"artifacts/sha256/{digest}/{key.rsplit('/', 1)[1]}"
    connection = sqlite3.connect(home / "inventory.db")
    try:
        dumped = "\n".join(connection.iterdump())
    finally:
        connection.close()
    assert str(home) not in dumped
    assert "file://" not in dumped
    shown = json.loads(invoke("show", f"{GROUP}/1", "--json").stdout)
    key = f"artifacts/sha256/{shown['sha256']}/model.tar.gz"
    assert key in two_versions
    assert shown["artifact_uri"] == (home / key).as_uri()  # where it is now, made when read


def assert_gc_keeps_the_live_files(home: Path, live: dict[str, str]) -> None:
    orphan = plant_orphan(home)
    age_everything(home)
    result = invoke("gc", "--older-than", "0s", "--json")
    assert result.exit_code == 0, result.output
    removed = json.loads(result.stdout)
    assert [item["location"] for item in removed] == [str(orphan)]
    assert not orphan.exists()
    assert {key: hashlib.sha256((home / key).read_bytes()).hexdigest() for key in live} == live
    assert all(key.split("/")[2] == digest for key, digest in live.items())
    for version in (1, 2):
        shown = invoke("show", f"{GROUP}/{version}", "--json")
        assert shown.exit_code == 0, shown.output
        data = json.loads(shown.stdout)
        assert (
            data["artifact_uri"]
            == (home / f"artifacts/sha256/{data['sha256']}/model.tar.gz").as_uri()
        )
        payload = Path(data["payload_uri"].removeprefix("file://"))
        assert hashlib.sha256(payload.read_bytes()).hexdigest() == data["payload_sha256"]


def test_a_moved_inventory_keeps_every_live_artifact(
    two_versions: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finding: move an inventory, gc --older-than 0s deleted every model it held."""
    moved = tmp_path / "elsewhere" / "inventory"
    moved.parent.mkdir()
    shutil.move(str(default_home()), str(moved))
    monkeypatch.setenv("MIMSREG_HOME", str(moved))
    assert_gc_keeps_the_live_files(moved, two_versions)


@pytest.mark.parametrize("registered_through", ["link", "real"])
def test_an_inventory_reached_through_a_symlink_keeps_every_live_artifact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registered_through: str
) -> None:
    """Registered through a symlinked MIMSREG_HOME and collected through the real path, or the
    other way round: the same files stay."""
    real = tmp_path / "real-home"
    link = tmp_path / "link-home"
    real.mkdir()
    link.symlink_to(real, target_is_directory=True)
    first, then = (link, real) if registered_through == "link" else (real, link)
    monkeypatch.setenv("MIMSREG_HOME", str(first))
    register(write_model_archive(tmp_path / "a" / "model.tar.gz", b"weights a"))
    register(write_model_archive(tmp_path / "b" / "model.tar.gz", b"weights b"))
    live = live_files(real)
    monkeypatch.setenv("MIMSREG_HOME", str(then))
    assert_gc_keeps_the_live_files(then, live)


@pytest.mark.parametrize("dry_run", [False, True])
def test_gc_refuses_while_a_version_records_a_file_outside_the_store(
    two_versions: dict[str, str], dry_run: bool
) -> None:
    """What such a version uses cannot be told by digest: exit 2, naming it, nothing removed."""
    home = default_home()
    connection = sqlite3.connect(home / "inventory.db")
    with connection:
        connection.execute(
            "UPDATE versions SET artifact_uri = 'file:///srv/models/fraud.tar.gz' WHERE version = 2"
        )
    connection.close()
    orphan = plant_orphan(home)
    age_everything(home)
    result = invoke("gc", "--older-than", "0s", *(["--dry-run"] if dry_run else []))
    assert result.exit_code == 2, result.output
    assert "gc removes nothing" in result.stderr
    assert f"{GROUP}/2 in us-east-1" in result.stderr
    assert "'file:///srv/models/fraud.tar.gz'" in result.stderr
    assert orphan.exists()
    assert all((home / key).exists() for key in two_versions)


def test_gc_refuses_a_key_whose_digest_is_not_the_recorded_one(
    two_versions: dict[str, str],
) -> None:
    """A version whose key names another digest than its own: not trusted either."""
    home = default_home()
    connection = sqlite3.connect(home / "inventory.db")
    with connection:
        connection.execute(
            f"UPDATE versions SET artifact_uri = 'artifacts/sha256/{'a' * 64}/model.tar.gz' "
            "WHERE version = 1"
        )
    connection.close()
    result = invoke("gc", "--older-than", "0s")
    assert result.exit_code == 2, result.output
    assert f"{GROUP}/1 in us-east-1" in result.stderr


# --- permissions ------------------------------------------------------------------------------
def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets others read: privacy must not depend on the user's umask."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_home_is_0700_and_database_and_artifacts_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "new" / "parent" / "home"
    monkeypatch.setenv("MIMSREG_HOME", str(home))
    register(write_model_archive(tmp_path / "model.tar.gz"))
    folders = [home.parent.parent, home.parent, home] + [
        path for path in (home / "artifacts").rglob("*") if path.is_dir()
    ]
    files = [path for path in home.rglob("*") if path.is_file()]
    assert {path.name for path in files} >= {"inventory.db", "model.tar.gz", "payload.tar.gz"}
    assert {str(path): mode(path) for path in folders} == {str(path): 0o700 for path in folders}
    assert {str(path): mode(path) for path in files} == {str(path): 0o600 for path in files}
    # SQLite's -wal and -shm, made while a connection is open, take the database's mode
    with LocalInventory(home / "inventory.db") as inventory:
        inventory.list_versions()
        side = [home / "inventory.db-wal", home / "inventory.db-shm"]
        assert {str(p): mode(p) for p in side if p.exists()} == {
            str(p): 0o600 for p in side if p.exists()
        }
        assert any(p.exists() for p in side)


# --- read-only openers ------------------------------------------------------------------------
def schema_version(database: Path) -> int:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return int(connection.execute("PRAGMA user_version").fetchone()[0])
    finally:
        connection.close()


def test_a_read_only_inventory_cannot_write(two_versions: dict[str, str]) -> None:
    """The connection itself refuses writes (mode=ro), not only mimsreg's own code."""
    with open_inventory("local", read_only=True) as inventory:
        assert isinstance(inventory, LocalInventory)
        assert len(inventory.list_versions()) == 2
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            inventory._connection.execute("UPDATE versions SET approval_status = 'Approved'")
        with pytest.raises(InventoryError, match="opened read-only"):
            inventory.set_approval("us-east-1", GROUP, 1, "Approved", "me")
        with pytest.raises(InventoryError, match="opened read-only"):
            inventory.collect_garbage(0)
        assert inventory.collect_garbage(0, dry_run=True) == []
    statuses = [r["approval_status"] for r in json.loads(invoke("list", "--json").stdout)]
    assert statuses == ["PendingManualApproval"] * 2


def test_list_and_show_work_on_a_folder_and_database_made_read_only(
    two_versions: dict[str, str],
) -> None:
    home = default_home()
    LocalInventory(home / "inventory.db").close()  # checkpointed: -wal and -shm gone
    before = sorted(path.name for path in home.iterdir())
    assert before == ["artifacts", "inventory.db"]
    database = home / "inventory.db"
    content = database.read_bytes()
    targets = [database, home]
    for path in targets:
        path.chmod(mode(path) & ~0o222)
    try:
        listed = invoke("list", "--json")
        assert listed.exit_code == 0, listed.output
        assert len(json.loads(listed.stdout)) == 2
        assert invoke("show", f"{GROUP}/2").exit_code == 0
        assert invoke("gc", "--dry-run", "--older-than", "0s").exit_code == 0
    finally:
        for path in targets:
            path.chmod(mode(path) | 0o200)
    assert database.read_bytes() == content
    # A reader may leave SQLite's (empty) WAL index files where the folder lets it; nothing else.
    after = {path.name for path in home.iterdir()}
    assert set(before) <= after <= {*before, "inventory.db-wal", "inventory.db-shm"}
    assert (home / "inventory.db-wal").stat().st_size == 0


def test_reading_a_missing_sqlite_path_creates_nothing(tmp_path: Path) -> None:
    database = tmp_path / "typo" / "models.db"
    for command in (("list",), ("show", f"{GROUP}/1"), ("gc", "--dry-run")):
        result = invoke(*command, "--inventory", f"sqlite://{database}")
        assert result.exit_code == 2, result.output
        assert f"no local inventory at {str(database)!r}" in result.stderr
    assert not database.parent.exists()
    with pytest.raises(NotFoundError):
        open_inventory(f"sqlite://{database}", read_only=True)


def test_the_default_home_reads_as_empty_before_anything_is_registered() -> None:
    home = default_home()
    assert not (home / "inventory.db").exists()
    assert json.loads(invoke("list", "--json").stdout) == []
    missing = invoke("show", f"{GROUP}/1")
    assert missing.exit_code == 2
    assert "is not in the local inventory" in missing.stderr
    assert not (home / "inventory.db").exists()


def test_a_path_with_a_leading_double_slash_opens_read_only(two_versions: dict[str, str]) -> None:
    """``sqlite:////tmp/x.db`` names ``//tmp/x.db``: a path, not a host ``tmp``."""
    uri = f"sqlite:///{default_home() / 'inventory.db'}"
    listed = invoke("list", "--inventory", uri, "--json")
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.stdout)) == 2
