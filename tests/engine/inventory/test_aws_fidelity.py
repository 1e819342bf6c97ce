"""Registrations AWS accepts, checked through the strict AWS layer (every rule on): tags, instance
types, metadata and description patterns, and regional buckets (issue: AWS fidelity)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import yaml
from click.testing import Result

from tests.conftest import SEED_EXAMPLE, TEST_BUCKET
from tests.support.cli import invoke as run
from tests.support.helpers import write_model_archive


def register(tmp_path: Path, regions: str, **config: Any) -> Result:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**SEED_EXAMPLE, "bucket": TEST_BUCKET, **config}))
    model = write_model_archive(tmp_path / "model.tar.gz")
    args = ("--config", path, "--inventory", "sagemaker", "--region", regions, "--json")
    return run("register", model, *args)


def test_tags_and_a_realtime_only_instance_type_register_in_two_regions(
    tmp_path: Path, strict_aws: Any
) -> None:
    """Tags go on the group (never on the version) and ml.r5.large is offered for real-time
    inference only: both regions register and AWS refuses nothing."""
    result = register(
        tmp_path,
        "us-east-1,eu-west-1",
        tags={"team": "fraud", "cost-centre": "42"},
        inference_instance_type="ml.r5.large",
    )
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in json.loads(result.stdout)] == ["created", "created"]
    assert strict_aws.refusals == []
    for region in ("us-east-1", "eu-west-1"):
        sagemaker = boto3.client("sagemaker", region_name=region)
        group = sagemaker.describe_model_package_group(
            ModelPackageGroupName="BuyerSellerMessaging-FraudDetection"
        )
        tags = sagemaker.list_tags(ResourceArn=group["ModelPackageGroupArn"])["Tags"]
        assert {"Key": "team", "Value": "fraud"} in tags
        (summary,) = sagemaker.list_model_packages(
            ModelPackageGroupName="BuyerSellerMessaging-FraudDetection"
        )["ModelPackageSummaryList"]
        package = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        specification = package["InferenceSpecification"]
        assert specification["SupportedRealtimeInferenceInstanceTypes"] == ["ml.r5.large"]
        assert "SupportedTransformInstanceTypes" not in specification


def test_an_owner_and_description_outside_aws_patterns_read_back_as_written(
    tmp_path: Path, strict_aws: Any
) -> None:
    """'Buyer & Seller (EU)' and a two-line description register (AWS refuses nothing) and
    `show` reads back exactly what the user wrote."""
    description = "Fraud scores for messages.\nTrained on 2026-11 data."
    result = register(
        tmp_path,
        "us-east-1",
        model_owner="Buyer & Seller (EU)",
        model_package_description=description,
    )
    assert result.exit_code == 0, result.output
    assert strict_aws.refusals == []
    shown = run(
        "show",
        "BuyerSellerMessaging-FraudDetection/1",
        "--inventory",
        "sagemaker",
        "--region",
        "us-east-1",
        "--json",
    )
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.stdout)
    assert record["model_owner"] == "Buyer & Seller (EU)"
    assert record["description"] == description
    approved = run(
        "approve",
        "BuyerSellerMessaging-FraudDetection/1",
        "--inventory",
        "sagemaker",
        "--region",
        "us-east-1",
        "--note",
        "checked\tby the risk team",
    )
    assert approved.exit_code == 0, approved.output
    assert strict_aws.refusals == []


def test_a_bucket_in_another_region_is_refused_by_mimsreg_not_by_aws(
    tmp_path: Path, strict_aws: Any
) -> None:
    """A plain bucket of eu-west-1 named for us-east-1: exit 2 naming bucket, its region and the
    fix; nothing is written in either region. The only answer of AWS's kind is the HeadBucket
    that told mimsreg where the bucket is (S3 redirects a request signed for another region)."""
    eu_bucket = TEST_BUCKET.format(region="eu-west-1")
    result = register(tmp_path, "us-east-1,eu-west-1", bucket=eu_bucket)
    assert result.exit_code == 2, result.output
    assert f"bucket: s3://{eu_bucket} is in eu-west-1, not in us-east-1" in result.stderr
    assert "a mapping region → bucket, or a name with {region}" in result.stderr
    assert {refusal.operation for refusal in strict_aws.refusals} <= {"s3:HeadBucket"}
    writes = [op for op in strict_aws.requests if op.split(":")[1].startswith(("Put", "Create"))]
    assert writes == []
    assert (
        boto3.client("s3", region_name="eu-west-1")
        .list_objects_v2(Bucket=eu_bucket)
        .get("Contents", [])
        == []
    )
    for region in ("us-east-1", "eu-west-1"):
        groups = boto3.client("sagemaker", region_name=region).list_model_package_groups()
        assert groups["ModelPackageGroupSummaryList"] == []


def test_an_inference_type_sagemaker_cannot_serve_is_a_warning_line(
    tmp_path: Path, strict_aws: Any
) -> None:
    """ml.t3.medium is in neither instance-type enum: left out of the request (AWS refuses
    nothing), and the CLI says so once, as a ``warning:`` line."""
    result = register(tmp_path, "us-east-1", inference_instance_type="ml.t3.medium")
    assert result.exit_code == 0, result.output
    assert strict_aws.refusals == []
    warned = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warned == [
        "warning: us-east-1: inference_instance_type 'ml.t3.medium' is not a real-time inference "
        "instance type SageMaker knows (ProductionVariantInstanceType); it is left out of "
        "SupportedRealtimeInferenceInstanceTypes"
    ]
