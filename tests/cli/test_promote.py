"""``mimsreg promote``: a locally approved version into two SageMaker regions (moto behind the
strict AWS layer), its history carried; a re-run unchanged; back to a local inventory; bad input.

The first test is the README's worked example, command for command.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from tests.conftest import SEED_EXAMPLE, TEST_BUCKET
from tests.support.cli import invoke
from tests.support.helpers import write_model_archive

GROUP = "BuyerSellerMessaging-FraudDetection"


def ok(*args: object) -> Any:
    """``mimsreg ARGS --json``, which must succeed; its JSON."""
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def approved_locally(tmp_path: Path) -> Path:
    """The README's first steps: a model registered in the local inventory and approved there."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(SEED_EXAMPLE))
    model = write_model_archive(tmp_path / "model.tar.gz")
    [registered] = ok("register", model, "--config", config)
    assert (registered["group"], registered["version"]) == (GROUP, 1)
    approved = ok("approve", f"{GROUP}/1", "--note", "offline metrics pass", "--actor", "alice")
    assert approved["approval_status"] == "Approved"
    return model


@pytest.mark.usefixtures("aws")
def test_local_approval_promoted_to_two_regions_then_unchanged(approved_locally: Path) -> None:
    args = ("promote", f"{GROUP}/1", "--from", "local", "--to", "sagemaker")
    args += ("--region", "us-east-1", "--region", "eu-west-1", "--bucket", TEST_BUCKET)
    first = ok(*args)
    digest = hashlib.sha256(approved_locally.read_bytes()).hexdigest()
    assert [(r["region"], r["status"], r["sha256"]) for r in first] == [
        ("us-east-1", "created", digest),
        ("eu-west-1", "created", digest),
    ]
    assert [r["status"] for r in ok(*args)] == ["unchanged", "unchanged"]

    for region in ("us-east-1", "eu-west-1"):
        packages = boto3.client("sagemaker", region_name=region).list_model_packages(
            ModelPackageGroupName=GROUP
        )["ModelPackageSummaryList"]
        assert [p["ModelApprovalStatus"] for p in packages] == ["Approved"]
        shown = ok("show", f"{GROUP}/1", "--inventory", "sagemaker", "--region", region)
        assert shown["approval_status"] == "Approved"
        assert shown["sha256"] == digest
        assert shown["registration_region"] == region
        assert f".{region}." in shown["image_uri"]
        assert shown["promoted_from"]["id"] == f"local:us-east-1:{GROUP}/1"
        assert shown["promoted_from"]["inventory"] == "local"
        history = [(e["status"], e["actor"], e["note"]) for e in shown["approval_history"]]
        source = f"local:us-east-1:{GROUP}/1"
        assert history[:2] == [
            ("PendingManualApproval", history[0][1], f"in {source}: registered"),
            ("Approved", "alice", f"in {source}: offline metrics pass"),
        ]
        assert history[2][0] == "Approved"
        assert history[2][2] == f"promoted from {source}"
        bucket = TEST_BUCKET.replace("{region}", region)
        artifact = f"s3://{bucket}/mimsreg/artifacts/sha256/{digest}/model.tar.gz"
        assert shown["artifact_uri"] == artifact
        assert shown["payload_uri"]


@pytest.mark.usefixtures("aws")
def test_a_region_promoted_to_another_and_back_to_a_local_inventory(
    approved_locally: Path, tmp_path: Path
) -> None:
    """SageMaker region → region keeps the identity; SageMaker → a local file, for debugging,
    brings the artifact's and payload's bytes back."""
    ok("promote", f"{GROUP}/1", "--from", "local", "--to", "sagemaker", "--bucket", TEST_BUCKET)
    [moved] = ok(
        "promote", f"{GROUP}/1", "--from", "sagemaker", "--from-region", "us-east-1",
        "--to", "sagemaker", "--region", "ap-southeast-2", "--bucket", TEST_BUCKET,
        "--status", "PendingManualApproval",
    )  # fmt: skip
    assert (moved["region"], moved["status"]) == ("ap-southeast-2", "created")
    shown = ok("show", f"{GROUP}/1", "--inventory", "sagemaker", "--region", "ap-southeast-2")
    assert shown["approval_status"] == "PendingManualApproval"
    assert shown["promoted_from"]["id"].startswith("arn:aws:sagemaker:us-east-1:")

    debug = f"sqlite:///{tmp_path / 'debug' / 'inventory.db'}"
    [back] = ok(
        "promote", f"{GROUP}/1", "--from", "sagemaker", "--from-region", "ap-southeast-2",
        "--to", debug,
    )  # fmt: skip
    assert back["status"] == "created"
    local = ok("show", f"{GROUP}/1", "--inventory", debug)
    assert local["approval_status"] == "PendingManualApproval"
    stored = Path(local["artifact_uri"].removeprefix("file://"))
    assert stored.read_bytes() == approved_locally.read_bytes()
    original = ok("show", f"{GROUP}/1")
    payload = Path(local["payload_uri"].removeprefix("file://"))
    assert (
        payload.read_bytes() == Path(original["payload_uri"].removeprefix("file://")).read_bytes()
    )
    assert local["identity"] == original["identity"]


def test_dry_run_reads_and_verifies_the_source_and_writes_nothing(
    approved_locally: Path, tmp_path: Path
) -> None:
    target = f"sqlite:///{tmp_path / 'target.db'}"
    planned = ok("promote", f"{GROUP}/1", "--from", "local", "--to", target, "--dry-run")
    assert [(r["region"], r["status"]) for r in planned] == [("us-east-1", "planned")]
    assert not (tmp_path / "target.db").exists()


def test_bad_input_exits_2_and_writes_nothing(approved_locally: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.db"
    cases = [
        (("promote", f"{GROUP}/9", "--from", "local", "--to", f"sqlite:///{target}"), "9"),
        (("promote", "no-version", "--from", "local", "--to", f"sqlite:///{target}"), "GROUP"),
        (("promote", f"{GROUP}/1", "--from", "local", "--to", "sagemaker"), "--bucket"),
        (("promote", f"{GROUP}/1", "--from", "local", "--to", "nowhere"), "unknown inventory"),
    ]
    for args, message in cases:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr
    assert not target.exists()
