"""register / list / show / approve through the CLI on the local inventory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mimsreg.engine.inventory.local import LocalInventory, default_home
from tests.conftest import EXAMPLE_CONFIG
from tests.support.cli import invoke
from tests.support.helpers import stored_files, write_model_archive


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return write_model_archive(tmp_path / "build" / "model.tar.gz")


def register_json(model: Path, *extra: str) -> list[dict[str, object]]:
    result = invoke("register", model, "--config", EXAMPLE_CONFIG, "--json", *extra)
    assert result.exit_code == 0, result.output
    data: list[dict[str, object]] = json.loads(result.stdout)
    return data


def test_register_list_show_approve(model: Path) -> None:
    """The main flow, and a second register that reports unchanged and adds no row."""
    [first] = register_json(model)
    assert set(first) >= {"region", "group", "version", "id", "sha256", "status"}
    assert (first["region"], first["version"], first["status"]) == ("us-east-1", 1, "created")
    [again] = register_json(model)
    assert (again["version"], again["status"], again["id"]) == (1, "unchanged", first["id"])

    listed = json.loads(invoke("list", "--json").stdout)
    assert len(listed) == 1
    assert set(listed[0]) == {
        "group",
        "version",
        "region",
        "approval_status",
        "sha256",
        "created_at",
        "release",
        "owner",
        "domain",
    }

    shown = json.loads(invoke("show", "BuyerSellerMessaging-FraudDetection/1", "--json").stdout)
    assert shown["variable_schema"]["input"]["variables"][2] == {
        "name": "country_code",
        "type": "TEXT",
    }
    assert shown["image_uri"].endswith(".amazonaws.com/sagemaker-xgboost:1.7-1")

    result = invoke("approve", "BuyerSellerMessaging-FraudDetection/1", "--note", "ok", "--json")
    assert result.exit_code == 0, result.output
    approved = json.loads(result.stdout)
    assert approved["approval_status"] == "Approved"
    assert approved["approval_history"][-1]["note"] == "ok"
    rejected = invoke("approve", "BuyerSellerMessaging-FraudDetection/1", "--reject")
    assert rejected.exit_code == 0
    assert "Rejected" in rejected.stdout


def test_human_output(model: Path) -> None:
    result = invoke("register", model, "--config", EXAMPLE_CONFIG, "--region", "NA,EU")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == [
        "REGION",
        "GROUP",
        "VERSION",
        "RELEASE",
        "STATUS",
        "SHA256",
        "ID",
    ]
    assert "eu-west-1" in result.stdout
    listing = invoke("list").stdout
    assert listing.count("BuyerSellerMessaging-FraudDetection") == 2
    ambiguous = invoke("show", "BuyerSellerMessaging-FraudDetection/1")
    assert ambiguous.exit_code == 2
    assert "several regions (eu-west-1, us-east-1)" in ambiguous.stderr
    shown = invoke("show", "BuyerSellerMessaging-FraudDetection/1", "--region", "EU")
    assert shown.exit_code == 0, shown.output
    assert "account_age (NUMERIC)" in shown.stdout
    assert "registered" in shown.stdout


def test_dry_run_writes_nothing(model: Path) -> None:
    result = invoke("register", model, "--config", EXAMPLE_CONFIG, "--dry-run", "--region", "EU")
    assert result.exit_code == 0, result.output
    assert "dry run: nothing was written" in result.stdout
    assert stored_files() == []
    as_json = invoke("register", model, "--config", EXAMPLE_CONFIG, "--dry-run", "--json")
    plan = json.loads(as_json.stdout)
    assert plan["regions"][0]["client_token"].startswith("mims-")
    assert stored_files() == []


def test_bad_config_writes_nothing(model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("framework: keras\n")
    result = invoke("register", model, "--config", bad)
    assert result.exit_code == 2
    assert "framework:" in result.stderr
    assert stored_files() == []


def test_hostile_archive_writes_nothing(tmp_path: Path) -> None:
    import io
    import tarfile

    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as archive:
        info = tarfile.TarInfo("../../etc/passwd")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    result = invoke("register", evil, "--config", EXAMPLE_CONFIG)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert stored_files() == []


def test_bad_region_and_reference(model: Path) -> None:
    result = invoke("register", model, "--config", EXAMPLE_CONFIG, "--region", "Mars")
    assert result.exit_code == 2
    assert "'Mars' is not an AWS region name" in result.stderr
    assert stored_files() == []
    assert invoke("show", "no-version").exit_code == 2
    missing = invoke("show", "absent/1")
    assert missing.exit_code == 2
    assert "absent/1 is not in the local inventory" in missing.stderr


def test_failed_region_exits_1(model: Path, tmp_path: Path) -> None:
    """An inventory that cannot store the artifact fails the region: exit 1 with the reason."""
    home = default_home()
    home.mkdir(parents=True, exist_ok=True)
    LocalInventory(home / "inventory.db").close()
    (home / "artifacts").write_text("a file where the artifact folder should be")
    result = invoke("register", model, "--config", EXAMPLE_CONFIG)
    assert result.exit_code == 1
    assert "error: us-east-1:" in result.stderr
    assert json.loads(invoke("list", "--json").stdout) == []


def test_sqlite_uri_inventory(model: Path, tmp_path: Path) -> None:
    uri = f"sqlite://{tmp_path / 'team' / 'models.db'}"
    register_json(model, "--inventory", uri)
    assert (tmp_path / "team" / "models.db").is_file()
    assert len(json.loads(invoke("list", "--inventory", uri, "--json").stdout)) == 1
    assert json.loads(invoke("list", "--json").stdout) == []


def test_python_api(model: Path) -> None:
    import mimsreg

    results = mimsreg.register(model, EXAMPLE_CONFIG, regions=["us-east-1", "FE"])
    assert [(r.region, r.status) for r in results] == [
        ("us-east-1", "created"),
        ("us-west-2", "created"),
    ]
    again = mimsreg.register(model, EXAMPLE_CONFIG, regions=["us-east-1", "FE"])
    assert [r.status for r in again] == ["unchanged", "unchanged"]
    planned = mimsreg.register(model, EXAMPLE_CONFIG, regions=["EU"], dry_run=True)
    assert [r.status for r in planned] == ["planned"]


def test_progress_bars_on_a_terminal(model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal, register draws the inspection and copy bars on stderr, never on stdout."""
    import mimsreg.cli as cli_module

    monkeypatch.setattr(cli_module, "_stderr_is_terminal", lambda: True)
    monkeypatch.setattr(cli_module, "PROGRESS_MIN_BYTES", 0)
    result = invoke("register", model, "--config", EXAMPLE_CONFIG, "--json")
    assert result.exit_code == 0, result.output
    assert "inspecting" in result.stderr
    assert "copying" in result.stderr
    assert json.loads(result.stdout)[0]["status"] == "created"


def test_list_several_regions(model: Path) -> None:
    """`list --region` takes several regions (repeated or comma-separated, legacy codes too)."""
    register_json(model, "--region", "NA,EU,FE")

    def regions(*options: str) -> list[str]:
        result = invoke("list", "--json", *options)
        assert result.exit_code == 0, result.output
        return [row["region"] for row in json.loads(result.stdout)]

    assert regions() == ["eu-west-1", "us-east-1", "us-west-2"]
    # Several regions list in the order given (tests/cli/test_daily.py pins the same rule).
    assert regions("--region", "NA,EU") == ["us-east-1", "eu-west-1"]
    assert regions("--region", "us-west-2", "--region", "EU") == ["us-west-2", "eu-west-1"]
    assert regions("--region", "FE") == ["us-west-2"]
    bad = invoke("list", "--region", "NA,Mars")
    assert bad.exit_code == 2
    assert "Mars" in bad.stderr
