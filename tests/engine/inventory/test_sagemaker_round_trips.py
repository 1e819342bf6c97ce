"""Round trips the SageMaker backend spares, without changing what it writes.

A lookup that listed the group's versions (or was told the group does not exist) spares
``ensure_group`` its describe; copies below the multipart threshold are one CopyObject, with no
HeadObject of the source; a region waiting for another region's upload does its own writes
meanwhile. bench/bench_regions.py measures what these are worth.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from botocore.stub import ANY, Stubber

from mimsreg.engine.execute import CREATED, execute_plan
from mimsreg.engine.inventory.sagemaker import SageMakerInventory, groups
from mimsreg.engine.plan import RegionPlan
from tests.conftest import TEST_REGIONS
from tests.support.aws import counted_clients
from tests.support.helpers import make_plan, write_model_archive

GROUP = "BuyerSellerMessaging-FraudDetection"
PACKAGE_ARN = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{GROUP}/1"


@pytest.mark.usefixtures("aws")
def test_three_regions_copy_without_source_head(tmp_path: Path) -> None:
    """Per region: its own HeadObject and the verifying one, nothing of the source's."""
    artifact = write_model_archive(tmp_path / "model.tar.gz", b"w" * 50_000)
    plan = make_plan(artifact, list(TEST_REGIONS))
    calls: Counter[str] = Counter()
    seen: list[int] = []
    inventory = SageMakerInventory(clients=counted_clients(calls))
    results = execute_plan(plan, inventory, artifact, progress=seen.append)
    assert [r.status for r in results] == [CREATED] * 3
    assert [calls[f"{region}:HeadObject"] for region in TEST_REGIONS] == [2, 2, 2], calls
    assert sum(calls[f"{region}:CopyObject"] for region in TEST_REGIONS) == 2
    assert sum(seen) == 3 * artifact.stat().st_size  # copies report their bytes too


@pytest.mark.usefixtures("aws")
def test_new_version_in_a_listed_group_is_not_described(tmp_path: Path) -> None:
    """The lookup listed the group's versions, so the group exists: no describe, no create."""
    first = write_model_archive(tmp_path / "a.tar.gz", b"first")
    second = write_model_archive(tmp_path / "b.tar.gz", b"second")
    calls: Counter[str] = Counter()
    inventory = SageMakerInventory(clients=counted_clients(calls))
    execute_plan(make_plan(first, ["us-east-1"]), inventory, first)
    calls.clear()
    [result] = execute_plan(make_plan(second, ["us-east-1"]), inventory, second)
    assert (result.version, result.status) == (2, CREATED)
    assert calls["us-east-1:DescribeModelPackageGroup"] == 0
    assert calls["us-east-1:CreateModelPackageGroup"] == 0


def group_does_not_exist(stubber: Stubber, operation: str) -> None:
    stubber.add_client_error(
        operation,
        service_error_code="ValidationException",
        service_message=f"ModelPackageGroup {GROUP} does not exist.",
    )


def test_group_the_lookup_found_missing_is_created_without_describe(
    stubbed: tuple[SageMakerInventory, Stubber], region_plan: RegionPlan
) -> None:
    """ListModelPackages said "does not exist": ensure_group goes straight to create."""
    inventory, stubber = stubbed
    group_does_not_exist(stubber, "list_model_packages")
    stubber.add_response(
        "create_model_package_group",
        {"ModelPackageGroupArn": f"arn:aws:sagemaker:us-east-1:123456789012:{GROUP}"},
        {"ModelPackageGroupName": GROUP, "ModelPackageGroupDescription": ANY, "Tags": ANY},
    )
    assert inventory.find_version("us-east-1", GROUP, region_plan.identity) is None
    inventory.ensure_group(region_plan)


def test_listed_group_is_not_described(
    stubbed: tuple[SageMakerInventory, Stubber], region_plan: RegionPlan
) -> None:
    """A version listed in the group proves it exists: ensure_group sends nothing."""
    inventory, stubber = stubbed
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    stubber.add_response(
        "list_model_packages",
        {
            "ModelPackageSummaryList": [
                {
                    "ModelPackageArn": PACKAGE_ARN,
                    "CreationTime": when,
                    "ModelPackageStatus": "Completed",
                }
            ]
        },
    )
    stubber.add_response(
        "describe_model_package",
        {
            "ModelPackageName": GROUP,
            "ModelPackageArn": PACKAGE_ARN,
            "CreationTime": when,
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": []},
            "CustomerMetadataProperties": {"mimsreg:identity": "another-identity"},
        },
    )
    assert inventory.find_version("us-east-1", GROUP, region_plan.identity) is None
    inventory.ensure_group(region_plan)  # the Stubber fails any call it was not given


def test_stale_lookup_is_not_trusted(
    stubbed: tuple[SageMakerInventory, Stubber],
    region_plan: RegionPlan,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a lookup saw too long ago counts for nothing: describe, then create."""
    inventory, stubber = stubbed
    monkeypatch.setattr(groups, "GROUP_HINT_SECONDS", -1.0)
    group_does_not_exist(stubber, "list_model_packages")
    group_does_not_exist(stubber, "describe_model_package_group")
    stubber.add_response(
        "create_model_package_group",
        {"ModelPackageGroupArn": f"arn:aws:sagemaker:us-east-1:123456789012:{GROUP}"},
    )
    inventory.find_version("us-east-1", GROUP, region_plan.identity)
    inventory.ensure_group(region_plan)


def test_region_waiting_for_an_upload_works_meanwhile() -> None:
    """The waiting region's own work runs once, outside the lock, before it copies."""
    inventory = SageMakerInventory()
    digest = "ab" * 32
    with inventory._staged:
        inventory._uploading.add(digest)  # another region is uploading
    ran: list[bool] = []

    def meanwhile() -> None:
        lock_was_free = inventory._staged.acquire(blocking=False)
        if lock_was_free:
            inventory._staged.release()
        ran.append(lock_was_free)

        def finish_upload() -> None:
            with inventory._staged:
                inventory._sources[digest] = ("us-east-1", "bucket")
                inventory._uploading.discard(digest)
                inventory._staged.notify_all()

        threading.Timer(0.05, finish_upload).start()

    assert inventory._claim_source(digest, meanwhile) == ("us-east-1", "bucket")
    assert ran == [True]


@pytest.mark.usefixtures("aws")
def test_clients_are_made_when_first_needed(tmp_path: Path) -> None:
    """prepare makes only the S3 clients (it checks each region's bucket); a region's pair is
    made once; regions in use are the default."""
    artifact = write_model_archive(tmp_path / "model.tar.gz")
    inventory = SageMakerInventory()
    inventory.prepare(make_plan(artifact, ["us-east-1", "eu-west-1"]))
    assert sorted(inventory._made) == [("eu-west-1", "s3"), ("us-east-1", "s3")]
    pair = inventory.clients("ap-southeast-2")
    assert pair.s3 is inventory.clients("ap-southeast-2").s3
    assert pair.sagemaker.meta.region_name == "ap-southeast-2"
    assert inventory.default_regions() == ["ap-southeast-2", "eu-west-1", "us-east-1"]
