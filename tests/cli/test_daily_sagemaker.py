"""Everyday use on SageMaker (moto behind the strict layer, issue 19): region defaults from the
environment, several regions, dry runs that ask, the preflight's messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
import pytest
import yaml

from tests.conftest import EXAMPLE_CONFIG, SEED_EXAMPLE, TEST_BUCKET
from tests.support.cli import invoke
from tests.support.helpers import write_model_archive

pytestmark = pytest.mark.usefixtures("aws")
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**SEED_EXAMPLE, "bucket": TEST_BUCKET}))
    return path


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return write_model_archive(tmp_path / "model.tar.gz")


def register(model: Path, config: Path, regions: str, *extra: str) -> list[dict[str, object]]:
    result = invoke(
        "register", model, "--config", config, "--inventory", "sagemaker", "--region", regions,
        "--json", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data: list[dict[str, object]] = json.loads(result.stdout)
    return data


def listed(*args: str, env: dict[str, str | None] | None = None) -> list[str]:
    result = invoke("list", "--inventory", "sagemaker", "--json", *args, env=env)
    assert result.exit_code == 0, result.output
    return [row["region"] for row in json.loads(result.stdout)]


def test_aws_region_is_the_default(model: Path, config: Path) -> None:
    """`AWS_REGION=eu-west-1 mimsreg list --inventory sagemaker` lists eu-west-1, although
    AWS_DEFAULT_REGION (us-east-1 here) says otherwise; MIMSREG_REGION comes before both."""
    register(model, config, "NA,EU")
    assert listed() == ["us-east-1"]  # AWS_DEFAULT_REGION
    assert listed(env={"AWS_REGION": "eu-west-1"}) == ["eu-west-1"]
    assert listed(env={"AWS_REGION": "eu-west-1", "MIMSREG_REGION": "NA,EU"}) == [
        "us-east-1",
        "eu-west-1",
    ]
    assert listed("--region", "EU", env={"MIMSREG_REGION": "NA"}) == ["eu-west-1"]


def test_list_several_regions(model: Path, config: Path) -> None:
    """`list --region NA --region EU` lists both; `--region NA,EU` too."""
    register(model, config, "NA,EU,ap-southeast-2")
    assert listed("--region", "NA", "--region", "EU") == ["us-east-1", "eu-west-1"]
    assert listed("--region", "NA,EU") == ["us-east-1", "eu-west-1"]


def test_show_and_approve_with_the_environment_region(model: Path, config: Path) -> None:
    [result] = register(model, config, "EU")
    reference = f"{result['group']}/1"
    env = {"AWS_REGION": "eu-west-1"}
    shown = invoke("show", reference, "--inventory", "sagemaker", "--output", "yaml", env=env)
    assert shown.exit_code == 0, shown.output
    record = yaml.safe_load(shown.stdout)
    assert record["region"] == "eu-west-1"
    approved = invoke("approve", reference, "--inventory", "sagemaker", "--json", env=env)
    assert approved.exit_code == 0, approved.output
    assert json.loads(approved.stdout)["approval_status"] == "Approved"


def test_one_timestamp_format_across_backends(model: Path, config: Path) -> None:
    """created_at and the history's `at` read the same from SageMaker as from the local store."""
    register(model, config, "EU")
    invoke("register", model, "--config", EXAMPLE_CONFIG, "--region", "EU")
    for inventory in ("sagemaker", "local"):
        result = invoke("list", "--inventory", inventory, "--region", "EU", "--json")
        [row] = json.loads(result.stdout)
        assert ISO_UTC.match(row["created_at"]), (inventory, row["created_at"])
        shown = invoke("show", f"{row['group']}/1", "--inventory", inventory, "--region", "EU",
                       "--json")  # fmt: skip
        events = json.loads(shown.stdout)["approval_history"]
        assert all(ISO_UTC.match(event["at"]) for event in events), (inventory, events)


def test_empty_list_says_so() -> None:
    result = invoke("list", "--inventory", "sagemaker", "--region", "EU")
    assert result.exit_code == 0, result.output
    assert result.stdout == "no versions in eu-west-1 in the sagemaker inventory\n"


def test_dry_run_asks_sagemaker(model: Path, config: Path) -> None:
    """would-create, then unchanged with the version; nothing created by the dry run."""
    args = ("register", model, "--config", config, "--inventory", "sagemaker", "--dry-run")
    before = invoke(*args, "--region", "NA,EU", "--json")
    assert before.exit_code == 0, before.output
    assert [r["status"] for r in json.loads(before.stdout)["regions"]] == ["would-create"] * 2
    groups = boto3.client("sagemaker", region_name="us-east-1").list_model_package_groups()
    assert groups["ModelPackageGroupSummaryList"] == []
    register(model, config, "EU")
    after = invoke(*args, "--region", "NA,EU", "--json")
    assert [(r["status"], r["version"]) for r in json.loads(after.stdout)["regions"]] == [
        ("would-create", None),
        ("unchanged", 1),
    ]


def test_dry_run_finds_a_missing_bucket(model: Path, config: Path) -> None:
    """The dry run runs the preflight: one line per region whose bucket is missing, exit 2."""
    result = invoke(
        "register", model, "--config", config, "--inventory", "sagemaker", "--dry-run",
        "--region", "us-west-1,EU,ca-central-1",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert (
        lines[0]
        == "error: bucket: s3://mimsreg-test-ca-central-1 (for ca-central-1) does not exist"
    )
    assert lines[1] == "bucket: s3://mimsreg-test-us-west-1 (for us-west-1) does not exist"
    assert len(lines) == 2


def test_no_credentials_before_any_upload(
    model: Path, config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No credentials: one message with the profiles to choose from, nothing uploaded."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    aws_config = tmp_path / "aws-config"
    aws_config.write_text("[profile dev]\nregion = eu-west-1\n[profile prod]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    result = invoke(
        "register", model, "--config", config, "--inventory", "sagemaker", "--region", "NA,EU"
    )
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "error: no AWS credentials found (us-east-1, eu-west-1): set AWS_PROFILE to one of "
        "your profiles (dev, prod)\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "dev")
    monkeypatch.delenv("AWS_DEFAULT_REGION")  # so the profile's region is the default
    listed_ = invoke("list", "--inventory", "sagemaker")
    assert listed_.exit_code == 2, listed_.output
    assert listed_.stderr == (
        "error: no AWS credentials found (region eu-west-1): the profile 'dev' (AWS_PROFILE) "
        "gives none: check it in ~/.aws/config\n"
    )
    monkeypatch.delenv("AWS_PROFILE")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    keys = (
        boto3.Session()
        .client("s3", region_name="us-east-1")
        .list_objects_v2(Bucket=TEST_BUCKET.format(region="us-east-1"))
    )
    assert keys.get("KeyCount", 0) == 0


def test_ui_region_browses_every_region_given(model: Path, config: Path) -> None:
    """`ui --inventory sagemaker --region NA --region EU` opens an inventory over both."""
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    import mimsreg.cli as cli_module

    register(model, config, "NA,EU")
    served: dict[str, object] = {}

    def fake_run(app: object, **kwargs: object) -> None:
        served["app"] = app

    monkeypatch = pytest.MonkeyPatch()
    try:
        import uvicorn

        monkeypatch.setattr(uvicorn, "run", fake_run)
        result = invoke("ui", "--inventory", "sagemaker", "--region", "NA", "--region", "EU")
        assert result.exit_code == 0, result.output
        assert cli_module is not None
    finally:
        monkeypatch.undo()
    with TestClient(served["app"], base_url="http://127.0.0.1") as client:  # type: ignore[arg-type]
        page = client.get("/api/versions")
    assert page.status_code == 200, page.text
    assert sorted({row["region"] for row in page.json()}) == ["eu-west-1", "us-east-1"]
