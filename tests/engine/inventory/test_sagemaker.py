"""The SageMaker backend end to end against a moto server on 127.0.0.1."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import boto3
import pytest

from mimsreg.engine.execute import CREATED, UNCHANGED, execute_plan
from mimsreg.engine.inventory.sagemaker import SageMakerInventory
from mimsreg.errors import BadInputError
from tests.conftest import TEST_BUCKET, TEST_REGIONS
from tests.support.aws import counted_clients
from tests.support.helpers import make_plan, write_model_archive

pytestmark = pytest.mark.usefixtures("aws")


def object_sha256(region: str, uri: str) -> str:
    bucket, key = uri[len("s3://") :].split("/", 1)
    body = boto3.client("s3", region_name=region).get_object(Bucket=bucket, Key=key)["Body"]
    return hashlib.sha256(body.read()).hexdigest()


def test_three_regions_then_rerun_creates_nothing(tmp_path: Path) -> None:
    """One group and one version per region, each with its regional, verified artifact."""
    artifact = write_model_archive(tmp_path / "model.tar.gz", b"w" * 50_000)
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    plan = make_plan(artifact, list(TEST_REGIONS))
    calls: Counter[str] = Counter()
    inventory = SageMakerInventory(clients=counted_clients(calls))
    results = execute_plan(plan, inventory, artifact)
    assert [(r.region, r.version, r.status) for r in results] == [
        (region, 1, CREATED) for region in TEST_REGIONS
    ]
    # Per region: schema, record and approval history documents, the create lock's lease, and
    # the version index (the group's "complete" marker, the entry before and after the create).
    uploads = sum(n for k, n in calls.items() if k.endswith(":PutObject") and n) - 7 * 3
    copies = sum(n for k, n in calls.items() if k.endswith(":CopyObject"))
    assert (uploads, copies) == (1, 2), calls  # uploaded once, copied server side twice
    for region in TEST_REGIONS:  # the lease was released
        listing = boto3.client("s3", region_name=region).list_objects_v2(
            Bucket=TEST_BUCKET.format(region=region), Prefix="mimsreg/locks/"
        )
        assert listing["KeyCount"] == 0
    for region, result in zip(TEST_REGIONS, results, strict=True):
        sagemaker = boto3.client("sagemaker", region_name=region)
        groups = sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
        assert [g["ModelPackageGroupName"] for g in groups] == [result.group]
        packages = sagemaker.list_model_packages(ModelPackageGroupName=result.group)
        assert len(packages["ModelPackageSummaryList"]) == 1
        package = sagemaker.describe_model_package(ModelPackageName=str(result.id))
        url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
        assert url.startswith(f"s3://{TEST_BUCKET.format(region=region)}/mimsreg/artifacts/")
        assert object_sha256(region, url) == digest == result.sha256
        assert package["CustomerMetadataProperties"]["mimsreg:sha256"] == digest
        env = package["InferenceSpecification"]["Containers"][0]["Environment"]
        assert env["SAGEMAKER_REGION"] == region

    calls.clear()
    rerun = execute_plan(plan, inventory, artifact)
    assert [(r.version, r.status) for r in rerun] == [(1, UNCHANGED)] * 3
    writes = {k for k in calls if k.split(":")[1].startswith(("Create", "Put", "Copy", "Upload"))}
    assert writes == set()


def test_a_missing_bucket_is_refused_before_any_region_writes(tmp_path: Path) -> None:
    """A region whose bucket does not exist stops the registration before anything is written
    in any region (exit 2 from the CLI), naming bucket and region; once it exists, all three
    regions register."""
    artifact = write_model_archive(tmp_path / "model.tar.gz")
    spec_changes = {
        "bucket": {
            "us-east-1": TEST_BUCKET.format(region="us-east-1"),
            "eu-west-1": "no-such-bucket-eu",
            "ap-southeast-2": TEST_BUCKET.format(region="ap-southeast-2"),
        }
    }
    plan = make_plan(artifact, list(TEST_REGIONS), **spec_changes)
    inventory = SageMakerInventory()
    with pytest.raises(BadInputError, match=r"s3://no-such-bucket-eu \(for eu-west-1\) does not"):
        execute_plan(plan, inventory, artifact)
    for region in TEST_REGIONS:
        groups = boto3.client("sagemaker", region_name=region).list_model_package_groups()
        assert groups["ModelPackageGroupSummaryList"] == []
        objects = boto3.client("s3", region_name=region).list_objects_v2(
            Bucket=TEST_BUCKET.format(region=region)
        )
        assert objects.get("Contents", []) == []
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="no-such-bucket-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    rerun = execute_plan(plan, inventory, artifact)
    assert [r.status for r in rerun] == [CREATED, CREATED, CREATED]


def test_a_bucket_in_another_region_is_refused(tmp_path: Path) -> None:
    """A plain bucket name serves every region, but a version's artifacts must be in its own
    region: the eu-west-1 bucket for us-east-1 is refused, naming both regions and the fix."""
    artifact = write_model_archive(tmp_path / "model.tar.gz")
    eu_bucket = TEST_BUCKET.format(region="eu-west-1")
    plan = make_plan(artifact, ["us-east-1", "eu-west-1"], bucket=eu_bucket)
    with pytest.raises(BadInputError) as refused:
        execute_plan(plan, SageMakerInventory(), artifact)
    assert str(refused.value) == (
        f"bucket: s3://{eu_bucket} is in eu-west-1, not in us-east-1: a model version must keep "
        "its artifacts in its own region; give us-east-1 a bucket there (a mapping region → "
        "bucket, or a name with {region})"
    )
    objects = boto3.client("s3", region_name="eu-west-1").list_objects_v2(Bucket=eu_bucket)
    assert objects.get("Contents", []) == []


def test_no_bucket_configured_is_bad_input_before_any_write(tmp_path: Path) -> None:
    artifact = write_model_archive(tmp_path / "model.tar.gz")
    plan = make_plan(artifact, ["us-east-1", "eu-west-1"], bucket={"us-east-1": "b"})
    with pytest.raises(BadInputError, match="no S3 bucket for region"):
        execute_plan(plan, SageMakerInventory(), artifact)
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    assert sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"] == []


def test_multipart_artifact_is_uploaded_copied_and_verified(tmp_path: Path) -> None:
    """Past the multipart threshold: parts with checksums, UploadPartCopy across regions."""
    import os

    artifact = tmp_path / "model.tar.gz"
    artifact.write_bytes(os.urandom(40 * 1024 * 1024))  # stands in for a big archive's bytes
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    plan = make_plan(artifact, ["us-east-1", "eu-west-1"])
    calls: Counter[str] = Counter()
    seen: list[int] = []
    inventory = SageMakerInventory(clients=counted_clients(calls))
    results = execute_plan(plan, inventory, artifact, progress=seen.append)
    assert [r.status for r in results] == [CREATED, CREATED]
    assert calls["us-east-1:UploadPart"] + calls["eu-west-1:UploadPart"] == 3
    assert calls["us-east-1:UploadPartCopy"] + calls["eu-west-1:UploadPartCopy"] == 3
    assert sum(seen) == 2 * artifact.stat().st_size
    for result in results:
        record = inventory.get_version(result.region, result.group, 1)
        assert object_sha256(result.region, record.artifact_uri) == digest


def test_list_show_and_approve_against_sagemaker(tmp_path: Path) -> None:
    artifact = write_model_archive(tmp_path / "model.tar.gz")
    plan = make_plan(artifact, ["us-east-1", "eu-west-1"])
    inventory = SageMakerInventory(regions=["us-east-1", "eu-west-1"])
    execute_plan(plan, inventory, artifact)
    listed = inventory.list_versions()
    assert [(r.group, r.region, r.version) for r in listed] == [
        (plan.regions[0].group, "eu-west-1", 1),
        (plan.regions[0].group, "us-east-1", 1),
    ]
    record = inventory.get_version("eu-west-1", plan.regions[0].group, 1).to_dict()
    assert record["variable_schema"] == plan.spec.variable_schema()
    assert record["registered_by"]["user"] == "tester"
    assert record["approval_history"][0]["note"] == "registered"
    approved = inventory.set_approval("eu-west-1", plan.regions[0].group, 1, "Approved", "alice")
    assert approved.approval_status == "Approved"


def test_damaged_object_at_the_artifact_key_is_replaced(tmp_path: Path) -> None:
    """A foreign or damaged object under the content-addressed key is rewritten and verified."""
    artifact = write_model_archive(tmp_path / "model.tar.gz")
    plan = make_plan(artifact, ["us-east-1"])
    s3 = boto3.client("s3", region_name="us-east-1")
    bucket, key = TEST_BUCKET.format(region="us-east-1"), "mimsreg/" + plan.regions[0].artifact_key
    s3.put_object(Bucket=bucket, Key=key, Body=b"damaged", Metadata={"sha256": "0" * 64})
    [result] = execute_plan(plan, SageMakerInventory(), artifact)
    assert result.status == CREATED
    assert object_sha256("us-east-1", f"s3://{bucket}/{key}") == plan.manifest.sha256
