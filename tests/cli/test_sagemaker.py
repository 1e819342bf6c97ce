"""The CLI end to end with --inventory sagemaker against a moto server, three regions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import boto3
import pytest
import yaml

from tests.conftest import SEED_EXAMPLE, TEST_BUCKET, TEST_REGIONS
from tests.support.cli import invoke
from tests.support.helpers import write_model_archive

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**SEED_EXAMPLE, "bucket": TEST_BUCKET}))
    return path


def test_register_in_three_regions_then_unchanged(tmp_path: Path, config: Path) -> None:
    model = write_model_archive(tmp_path / "model.tar.gz")
    regions = ",".join(TEST_REGIONS)
    args = ("register", model, "--config", config, "--inventory", "sagemaker", "--region", regions)
    first = invoke(*args, "--json")
    assert first.exit_code == 0, first.output
    results = json.loads(first.stdout)
    assert [(r["region"], r["version"], r["status"]) for r in results] == [
        (region, 1, "created") for region in TEST_REGIONS
    ]
    assert all(r["id"].startswith("arn:aws:sagemaker:" + r["region"]) for r in results)
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert {r["sha256"] for r in results} == {digest}

    again = invoke(*args, "--json")
    assert [r["status"] for r in json.loads(again.stdout)] == ["unchanged"] * 3
    for region in TEST_REGIONS:
        packages = boto3.client("sagemaker", region_name=region).list_model_packages(
            ModelPackageGroupName=results[0]["group"]
        )["ModelPackageSummaryList"]
        assert len(packages) == 1

    listed = invoke("list", "--inventory", "sagemaker", "--region", "EU", "--json")
    assert listed.exit_code == 0, listed.output
    assert [(r["region"], r["version"]) for r in json.loads(listed.stdout)] == [("eu-west-1", 1)]
    shown = invoke("show", f"{results[0]['group']}/1", "--inventory", "sagemaker", "--region", "EU")
    assert shown.exit_code == 0, shown.output
    assert "country_code (TEXT)" in shown.stdout


def test_missing_bucket_setting_is_bad_input(tmp_path: Path) -> None:
    model = write_model_archive(tmp_path / "model.tar.gz")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(SEED_EXAMPLE))
    result = invoke("register", model, "--config", config, "--inventory", "sagemaker")
    assert result.exit_code == 2
    assert "bucket: no S3 bucket for region 'us-east-1'" in result.stderr
    groups = boto3.client("sagemaker", region_name="us-east-1").list_model_package_groups()
    assert groups["ModelPackageGroupSummaryList"] == []


def test_a_region_without_its_bucket_is_bad_input(tmp_path: Path, config: Path) -> None:
    """The region's bucket is checked before anything is written: exit 2, one line naming it."""
    model = write_model_archive(tmp_path / "model.tar.gz")
    result = invoke(
        "register", model, "--config", config, "--inventory", "sagemaker", "--region", "us-west-1"
    )
    assert result.exit_code == 2
    assert "s3://mimsreg-test-us-west-1 (for us-west-1) does not exist" in result.stderr


def test_no_credentials_in_output(
    tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failures print the reason, never the access key, secret or session token."""
    secrets = {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLESECRETID1",
        "AWS_SECRET_ACCESS_KEY": "very-secret-access-key-value",
        "AWS_SESSION_TOKEN": "session-token-value-123",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    model = write_model_archive(tmp_path / "model.tar.gz")
    result = invoke(
        "register",
        model,
        "--config",
        config,
        "--inventory",
        "sagemaker",
        "--region",
        "us-east-1,us-west-1",
    )
    assert result.exit_code == 2
    for value in secrets.values():
        assert value not in result.output
    assert "X-Amz-" not in result.output  # no presigned URL
