"""A model folder through the CLI on the local inventory: inspect, register (created, then
unchanged), show, files stored content-addressed per file, and gc keeping them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mimsreg.engine.inventory.local import default_home
from tests.conftest import EXAMPLE_CONFIG
from tests.support.cli import invoke
from tests.support.folders import expected_digest, write_model_folder


def test_inspect_a_folder(tmp_path: Path) -> None:
    folder = write_model_folder(tmp_path / "model")
    result = invoke("inspect", folder, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["layout"], data["sha256"]) == ("folder", expected_digest(folder))
    assert {f["path"] for f in data["files"]} >= {"code/inference.py", "config.json"}
    text = invoke("inspect", folder).stdout
    assert "valid model folder (uncompressed)" in text
    assert "(manifest digest)" in text


def test_register_show_and_gc_a_folder_model(tmp_path: Path) -> None:
    folder = write_model_folder(tmp_path / "model", shards=3)
    first = invoke("register", folder, "--config", EXAMPLE_CONFIG, "--json")
    assert first.exit_code == 0, first.output
    [created] = json.loads(first.stdout)
    assert (created["status"], created["sha256"]) == ("created", expected_digest(folder))
    again = json.loads(invoke("register", folder, "--config", EXAMPLE_CONFIG, "--json").stdout)
    assert (again[0]["status"], again[0]["version"]) == ("unchanged", created["version"])

    store = default_home() / "artifacts" / "sha256"
    for path in (p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert (store / digest / "file").read_bytes() == path.read_bytes()
    manifest = store / created["sha256"] / "manifest.json"
    assert hashlib.sha256(manifest.read_bytes()).hexdigest() == created["sha256"]

    shown = invoke("show", "BuyerSellerMessaging-FraudDetection/1")
    assert "folder model, 6 files, uncompressed" in shown.stdout
    record = json.loads(invoke("show", "BuyerSellerMessaging-FraudDetection/1", "--json").stdout)
    assert (record["artifact"]["layout"], record["artifact"]["file_count"]) == ("folder", 6)

    swept = invoke("gc", "--older-than", "0s", "--json")
    assert swept.exit_code == 0, swept.output
    assert json.loads(swept.stdout) == []  # every file of the folder is in use
    assert all((store / f.name).is_dir() for f in store.iterdir())


def test_a_hostile_folder_is_refused_with_exit_2_and_nothing_written(tmp_path: Path) -> None:
    folder = write_model_folder(tmp_path / "model")
    (folder / "escape").symlink_to("../../etc")
    result = invoke("register", folder, "--config", EXAMPLE_CONFIG)
    assert result.exit_code == 2
    assert "'escape'" in result.stderr
    assert "leaving the folder" in result.stderr
    assert not (default_home() / "artifacts").exists()
