"""The SQLite inventory's own promises: artifact store, migrations, URIs, concurrency."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mimsreg.engine.execute import FAILED, execute_plan
from mimsreg.engine.inventory import open_inventory
from mimsreg.engine.inventory.local import MIGRATIONS, LocalInventory, default_home
from mimsreg.errors import InventoryError, InventoryURIError
from tests.conftest import REPO_ROOT
from tests.support.helpers import make_plan, write_model_archive


def test_default_home_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MIMSREG_HOME", str(tmp_path / "h"))
    assert default_home() == tmp_path / "h"
    with open_inventory("local") as inventory:
        assert isinstance(inventory, LocalInventory)
        assert inventory.database == tmp_path / "h" / "inventory.db"
    monkeypatch.delenv("MIMSREG_HOME")
    assert default_home() == Path.home() / ".mimsreg"


@pytest.mark.parametrize("uri", ["s3://x", "sqlite://relative.db", "sqlite:///", "postgres://h/db"])
def test_bad_inventory_uris(uri: str) -> None:
    with pytest.raises(InventoryURIError, match="inventory"):
        open_inventory(uri)


def test_artifact_is_copied_to_a_content_addressed_store(tmp_path: Path) -> None:
    artifact = write_model_archive(tmp_path / "model.tar.gz")
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    with LocalInventory(tmp_path / "inv" / "inventory.db") as inventory:
        record = execute_plan(make_plan(artifact, ["us-east-1", "eu-west-1"]), inventory, artifact)
        stored = tmp_path / "inv" / "artifacts" / "sha256" / digest / "model.tar.gz"
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == digest
        assert (
            inventory.get_version("us-east-1", record[0].group, 1).artifact_uri == stored.as_uri()
        )
        assert not list(stored.parent.glob(".incoming-*"))


def test_relative_home_gives_absolute_artifact_uris(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Found by `make demo`: a relative MIMSREG_HOME once failed every region."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MIMSREG_HOME", "relative-home")
    artifact = write_model_archive(tmp_path / "model.tar.gz")
    with open_inventory("local") as inventory:
        [result] = execute_plan(make_plan(artifact), inventory, artifact)
        assert result.status == "created", result.error
        record = inventory.get_version(result.region, result.group, 1)
    assert record.artifact_uri.startswith(f"file://{tmp_path}/relative-home/artifacts/")


def test_artifact_changed_since_inspection_is_refused(tmp_path: Path) -> None:
    """The copy is verified against the inspected digest: a swapped file records nothing."""
    artifact = write_model_archive(tmp_path / "model.tar.gz")
    plan = make_plan(artifact)
    write_model_archive(artifact, b"tampered weights")
    with LocalInventory(tmp_path / "inv" / "inventory.db") as inventory:
        [result] = execute_plan(plan, inventory, artifact)
        assert result.status == FAILED
        assert "changed while it was copied" in str(result.error)
        assert inventory.list_versions() == []
        assert not list((tmp_path / "inv").rglob("model.tar.gz"))


def test_schema_version_is_recorded_and_newer_files_refused(tmp_path: Path) -> None:
    database = tmp_path / "inventory.db"
    LocalInventory(database).close()
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        connection.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(InventoryError, match="newer than this mimsreg knows"):
        LocalInventory(database)


def test_unopenable_database_is_an_inventory_error(tmp_path: Path) -> None:
    (tmp_path / "inventory.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(InventoryError, match="cannot open the local inventory"):
        LocalInventory(tmp_path / "inventory.db")


CONCURRENT_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from mimsreg.engine.execute import execute_plan
from mimsreg.engine.inventory.local import LocalInventory
from tests.support.helpers import make_plan
artifact = Path(sys.argv[2])
with LocalInventory(Path(sys.argv[1])) as inventory:
    results = execute_plan(make_plan(artifact, ["us-east-1", "eu-west-1"]), inventory, artifact)
print(",".join(f"{r.region}:{r.version}:{r.status}" for r in results))
"""


def test_concurrent_processes_never_duplicate_a_version(tmp_path: Path) -> None:
    """Six processes register the same model and three others at once: no duplicate, no damage."""
    repo = str(REPO_ROOT)
    database = tmp_path / "inv" / "inventory.db"
    LocalInventory(database).close()
    same = write_model_archive(tmp_path / "same.tar.gz", b"same")
    others = [write_model_archive(tmp_path / f"m{i}.tar.gz", f"m{i}".encode()) for i in range(3)]
    artifacts = [same] * 6 + others
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_SCRIPT, str(database), str(path), repo],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in artifacts
    ]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outputs.append(out.strip())
    same_outputs = {out.replace("created", "x").replace("unchanged", "x") for out in outputs[:6]}
    assert len(same_outputs) == 1, outputs  # every racer got the same version numbers
    assert sum(out.count("created") for out in outputs[:6]) == 2  # one per region
    with LocalInventory(database) as inventory:
        assert inventory.integrity_check() == "ok"
        versions = inventory.list_versions()
    assert len(versions) == 8  # 4 distinct artifacts x 2 regions
    for region in ("us-east-1", "eu-west-1"):
        numbers = sorted(v.version for v in versions if v.region == region)
        assert numbers == [1, 2, 3, 4]
