"""`mimsreg iam-policy`: least privilege for the buckets, group and key a registration uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mimsreg.errors import BadInputError
from mimsreg.iam import registration_policy
from tests.conftest import SEED_EXAMPLE
from tests.support.cli import invoke
from tests.support.helpers import seed_spec


def test_policy_names_each_regions_bucket_and_group() -> None:
    policy = registration_policy(seed_spec(), ["us-east-1", "eu-west-1"], account="123456789012")
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["Artifacts"]["Resource"] == [
        "arn:aws:s3:::mimsreg-test-us-east-1/mimsreg/*",
        "arn:aws:s3:::mimsreg-test-eu-west-1/mimsreg/*",
    ]
    registry = statements["ModelRegistry"]
    assert (
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package/"
        "BuyerSellerMessaging-FraudDetection/*" in registry["Resource"]
    )
    assert "sagemaker:CreateModelPackage" in registry["Action"]
    # Delete only the group's own lease object, nothing else under the prefix.
    assert statements["CreateLock"]["Action"] == ["s3:DeleteObject"]
    assert statements["CreateLock"]["Resource"] == [
        "arn:aws:s3:::mimsreg-test-us-east-1/mimsreg/locks/BuyerSellerMessaging-FraudDetection.json",
        "arn:aws:s3:::mimsreg-test-eu-west-1/mimsreg/locks/BuyerSellerMessaging-FraudDetection.json",
    ]
    assert not any(a == "*" or a.endswith(":*") for s in policy["Statement"] for a in s["Action"])
    assert "Encryption" not in statements


def test_policy_includes_the_kms_key_when_set() -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/abc"
    policy = registration_policy(seed_spec(kms_key_id=key), ["us-east-1"])
    encryption = [s for s in policy["Statement"] if s["Sid"] == "Encryption"]
    assert encryption[0]["Resource"] == key


def test_policy_needs_a_bucket() -> None:
    with pytest.raises(BadInputError, match="no S3 bucket for region 'eu-west-1'"):
        registration_policy(seed_spec(bucket={"us-east-1": "b"}), ["us-east-1", "eu-west-1"])


def test_cli(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({**SEED_EXAMPLE, "bucket": "models-{region}"}))
    result = invoke("iam-policy", str(config), "--region", "NA,EU")
    assert result.exit_code == 0, result.output
    policy = json.loads(result.stdout)
    assert policy["Version"] == "2012-10-17"
    resources = [r for s in policy["Statement"] for r in s["Resource"] if "s3" in r]
    assert "arn:aws:s3:::models-eu-west-1/mimsreg/*" in resources
    no_bucket = tmp_path / "n.yaml"
    no_bucket.write_text(yaml.safe_dump(SEED_EXAMPLE))
    failed = invoke("iam-policy", str(no_bucket))
    assert failed.exit_code == 2
    assert "bucket" in failed.stderr
