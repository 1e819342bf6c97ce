"""Registration with sample payloads and `register --check` (issue: payloads and conformance)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import boto3
import pytest
import yaml

from tests.conftest import EXAMPLE_CONFIG, SEED_EXAMPLE, TEST_BUCKET
from tests.support.cli import invoke
from tests.support.helpers import stored_files
from tests.support.models import WRONG_OUTPUT_NAME, build_model


def test_generated_payload_is_stored_with_the_version(tmp_path: Path) -> None:
    model = build_model(tmp_path)
    first = invoke("register", model, "--config", EXAMPLE_CONFIG, "--json")
    assert first.exit_code == 0, first.output
    shown = json.loads(invoke("show", "BuyerSellerMessaging-FraudDetection/1", "--json").stdout)
    assert shown["payload_uri"].startswith("file://")
    payload = Path(shown["payload_uri"][len("file://") :])
    assert shown["payload_sha256"] == hashlib.sha256(payload.read_bytes()).hexdigest()
    again = invoke("register", model, "--config", EXAMPLE_CONFIG, "--json")
    assert json.loads(again.stdout)[0]["status"] == "unchanged"  # the payload is deterministic


def test_custom_payload_changes_identity_and_bad_payload_writes_nothing(tmp_path: Path) -> None:
    model = build_model(tmp_path)
    good = tmp_path / "sample.csv"
    good.write_text("12,3,US\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("12,US\n")
    refused = invoke("register", model, "--config", EXAMPLE_CONFIG, "--payload", bad)
    assert refused.exit_code == 2
    assert "bad.csv" in refused.stderr
    assert stored_files() == []
    first = json.loads(invoke("register", model, "--config", EXAMPLE_CONFIG, "--json").stdout)
    custom = invoke("register", model, "--config", EXAMPLE_CONFIG, "--payload", good, "--json")
    assert custom.exit_code == 0, custom.output
    assert (json.loads(custom.stdout)[0]["version"], first[0]["version"]) == (2, 1)


def test_check_passes_then_registers(tmp_path: Path) -> None:
    model = build_model(tmp_path)
    result = invoke(
        "register", model, "--config", EXAMPLE_CONFIG, "--check", "--env", "current", "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["status"] == "created"


def test_failed_check_registers_nothing(tmp_path: Path) -> None:
    model = build_model(tmp_path, WRONG_OUTPUT_NAME)
    result = invoke("register", model, "--config", EXAMPLE_CONFIG, "--check", "--env", "current")
    assert result.exit_code == 1
    assert "failed its check, nothing was registered" in result.stderr
    assert "fraud_score" in result.stderr
    assert stored_files() == []


def test_python_api_check_raises(tmp_path: Path) -> None:
    import mimsreg
    from mimsreg.errors import CheckFailedError

    model = build_model(tmp_path, WRONG_OUTPUT_NAME)
    with pytest.raises(CheckFailedError) as excinfo:
        mimsreg.register(model, EXAMPLE_CONFIG, check=True)
    assert excinfo.value.report is not None
    assert stored_files() == []


@pytest.mark.usefixtures("aws")
def test_sagemaker_sample_payload_url(tmp_path: Path) -> None:
    model = build_model(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({**SEED_EXAMPLE, "bucket": TEST_BUCKET}))
    result = invoke("register", model, "--config", config, "--inventory", "sagemaker", "--json")
    assert result.exit_code == 0, result.output
    arn = json.loads(result.stdout)[0]["id"]
    package = boto3.client("sagemaker", region_name="us-east-1").describe_model_package(
        ModelPackageName=arn
    )
    url = package["SamplePayloadUrl"]
    bucket, key = url[len("s3://") :].split("/", 1)
    assert key.endswith("/payload.tar.gz")
    body = boto3.client("s3", region_name="us-east-1").get_object(Bucket=bucket, Key=key)
    assert body["Body"].read()[:2] == b"\x1f\x8b"  # a gzip archive
