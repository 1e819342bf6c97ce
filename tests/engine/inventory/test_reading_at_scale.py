"""Reading an inventory at scale: `list`, the UI's groups page and the JSON API make a call per
page, never a call per version or per group (counted at the strict AWS layer)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from starlette.testclient import TestClient

from mimsreg.engine.inventory.base import VersionRecord
from mimsreg.engine.inventory.local import LocalInventory
from mimsreg.engine.inventory.sagemaker import SageMakerInventory
from mimsreg.ui import create_app
from tests.conftest import TEST_REGIONS
from tests.support.scale import Scale, expected_summaries, group_name, populate
from tests.support.strict_aws import StrictAwsServer
from tests.support.ui_seed import seed_ui_inventory

# 120 versions in 12 groups per region, three regions: two pages of 100 per listing.
SCALE = Scale(TEST_REGIONS, groups=12, versions=120)
OWNER_KEYS = {"model_owner", "model_registration_domain", "model_registration_objective"}


@pytest.fixture
def populated(aws: str, strict_aws: StrictAwsServer) -> StrictAwsServer:
    """SCALE's versions in moto, made with boto3 through the strict layer; no call counted."""
    populate(SCALE, lambda region: boto3.client("sagemaker", region_name=region))
    strict_aws.requests.clear()
    return strict_aws


def rows(records: list[VersionRecord]) -> list[tuple[str, str, int, str]]:
    return [(r.group, r.region, r.version, r.sha256) for r in records]


def test_list_every_region_reads_pages_only(populated: StrictAwsServer) -> None:
    """360 versions in 36 groups: per region two ListModelPackages and two Search pages, no
    describe, no group listing; every version with its digest, status and owner metadata."""
    inventory = SageMakerInventory(regions=list(TEST_REGIONS))
    records = inventory.list_versions()
    assert rows(records) == list(expected_summaries(SCALE))
    assert dict(populated.requests) == {
        "sagemaker:ListModelPackages": 2 * len(TEST_REGIONS),
        "sagemaker:Search": 2 * len(TEST_REGIONS),
    }
    assert {r.approval_status for r in records} == {"PendingManualApproval"}
    assert all(set(r.record) == OWNER_KEYS for r in records)
    assert records[0].record["model_owner"] == "team-fraud"


def test_summaries_are_what_a_describe_gives(populated: StrictAwsServer) -> None:
    """A listed version equals the same version read whole, but for the record's extra fields."""
    inventory = SageMakerInventory(regions=list(TEST_REGIONS))
    listed = inventory.list_versions(region="eu-west-1", group=group_name(3))
    assert dict(populated.requests) == {"sagemaker:ListModelPackages": 1, "sagemaker:Search": 1}
    assert [r.version for r in listed] == list(range(1, SCALE.per_group + 1))
    for summary in (listed[0], listed[-1]):
        whole = inventory.get_version("eu-west-1", summary.group, summary.version)
        for name in ("id", "sha256", "identity", "approval_status", "created_at"):
            assert getattr(summary, name) == getattr(whole, name), name
        assert summary.artifact_uri == whole.artifact_uri
        assert summary.payload_uri == whole.payload_uri
        assert summary.artifact_uri.endswith(f"/sha256/{summary.sha256}/model.tar.gz")


def test_a_new_approval_shows_in_the_list(populated: StrictAwsServer) -> None:
    """An approval is listed at once (the listing's status is the one shown)."""
    inventory = SageMakerInventory(regions=list(TEST_REGIONS))
    inventory.set_approval("us-east-1", group_name(0), 2, "Approved", "alice")
    listed = inventory.list_versions(region="us-east-1", group=group_name(0))
    assert [r.approval_status for r in listed][:3] == [
        "PendingManualApproval",
        "Approved",
        "PendingManualApproval",
    ]


def test_missing_group_lists_nothing(populated: StrictAwsServer) -> None:
    """A group that does not exist has no versions (and costs one call)."""
    inventory = SageMakerInventory(regions=["us-east-1"])
    assert inventory.list_versions(region="us-east-1", group="NoSuchGroup") == []
    assert dict(populated.requests) == {"sagemaker:ListModelPackages": 1}


def test_ui_groups_page_reads_pages_only(populated: StrictAwsServer) -> None:
    """The groups page and the JSON API: one listing of every region, no call per group."""
    inventory = SageMakerInventory(regions=list(TEST_REGIONS))
    client = TestClient(create_app(inventory, default_actor="carol"), base_url="http://localhost")
    groups = client.get("/api/groups").json()
    assert [g["group"] for g in groups] == [group_name(i) for i in range(SCALE.groups)]
    assert groups[1]["owner"] == "team-search"
    assert groups[1]["objective"] == "Objective0001"
    assert groups[1]["version_count"] == SCALE.per_group
    assert set(groups[1]["latest"]) == set(TEST_REGIONS)
    pages = {
        "sagemaker:ListModelPackages": 2 * len(TEST_REGIONS),
        "sagemaker:Search": 2 * len(TEST_REGIONS),
    }
    assert dict(populated.requests) == pages
    populated.requests.clear()
    html = client.get("/?region=eu-west-1&owner=team-ads").text
    assert group_name(2) in html
    assert group_name(1) not in html
    assert dict(populated.requests) == pages  # the region's rows come from the same listing


# --- what AWS does that moto does not: Search lags behind (pinned with Stubber) -----------------

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/{}"
WHEN = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)


def _summary(version: int, status: str) -> dict[str, Any]:
    return {
        "ModelPackageGroupName": "fraud",
        "ModelPackageVersion": version,
        "ModelPackageArn": ARN.format(version),
        "CreationTime": WHEN,
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": status,
    }


def _package(version: int, status: str) -> dict[str, Any]:
    return {
        **_summary(version, status),
        "ModelPackageName": "fraud",
        "ModelPackageStatusDetails": {"ValidationStatuses": []},
        "CustomerMetadataProperties": {
            "mimsreg:sha256": f"{version:064x}",
            "mimsreg:owner": "team-fraud",
            "mimsreg:domain": "Payments",
            "mimsreg:objective": "Fraud",
        },
        "InferenceSpecification": {
            "Containers": [{"Image": "i", "ModelDataUrl": f"s3://b/{version}.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    }


LIST = {
    "ModelPackageGroupName": "fraud",
    "SortBy": "CreationTime",
    "SortOrder": "Descending",
    "MaxResults": 100,
}
SEARCH = {
    "Resource": "ModelPackage",
    "MaxResults": 100,
    "SearchExpression": {
        "Filters": [{"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": "fraud"}]
    },
}


def test_search_lag_is_made_up_by_the_listing(
    stubbed: tuple[SageMakerInventory, Stubber],
) -> None:
    """Search does not hold version 3 yet and still says version 2 is pending: version 3 is
    described alone, version 2 shows the listing's Approved, a version only the index still
    holds (deleted) is left out."""
    inventory, stubber = stubbed
    listing = [_summary(3, "PendingManualApproval"), _summary(2, "Approved")]
    stubber.add_response("list_model_packages", {"ModelPackageSummaryList": listing}, LIST)
    results = [{"ModelPackage": _package(2, "PendingManualApproval")}]
    results.append({"ModelPackage": _package(1, "PendingManualApproval")})  # deleted since
    stubber.add_response("search", {"Results": results}, SEARCH)
    stubber.add_response(
        "describe_model_package",
        _package(3, "PendingManualApproval"),
        {"ModelPackageName": ARN.format(3)},
    )
    records = inventory.list_versions(region="us-east-1", group="fraud")
    assert [(r.version, r.approval_status, r.sha256[-1]) for r in records] == [
        (2, "Approved", "2"),
        (3, "PendingManualApproval", "3"),
    ]
    assert records[1].record["model_registration_domain"] == "Payments"


def test_without_search_permission_every_version_is_described(
    stubbed: tuple[SageMakerInventory, Stubber],
) -> None:
    """A role without sagemaker:Search still lists, describing each version as before."""
    inventory, stubber = stubbed
    listing = [_summary(2, "Approved"), _summary(1, "Rejected")]
    stubber.add_response("list_model_packages", {"ModelPackageSummaryList": listing}, LIST)
    stubber.add_client_error("search", "AccessDeniedException", "not authorized", 400, None, SEARCH)
    for version in (2, 1):
        stubber.add_response(
            "describe_model_package",
            _package(version, "PendingManualApproval"),
            {"ModelPackageName": ARN.format(version)},
        )
    records = inventory.list_versions(region="us-east-1", group="fraud")
    assert [(r.version, r.approval_status) for r in records] == [(1, "Rejected"), (2, "Approved")]


def test_search_errors_other_than_permission_are_raised(
    stubbed: tuple[SageMakerInventory, Stubber],
) -> None:
    """A throttled or failing search is an error of the listing, not a silent fallback."""
    from mimsreg.errors import InventoryError

    inventory, stubber = stubbed
    stubber.add_response(
        "list_model_packages", {"ModelPackageSummaryList": [_summary(1, "Approved")]}, LIST
    )
    stubber.add_client_error("search", "ValidationException", "bad filter", 400, None, SEARCH)
    with pytest.raises(InventoryError, match="bad filter"):
        inventory.list_versions(region="us-east-1", group="fraud")


# --- the local inventory ------------------------------------------------------------------------


class CountingInventory(LocalInventory):
    """The local inventory, counting the versions read whole."""

    whole_reads = 0

    def get_version(self, region: str, group: str, version: int) -> VersionRecord:
        self.whole_reads += 1
        return super().get_version(region, group, version)


def test_local_groups_page_reads_no_version_whole(tmp_path: Path) -> None:
    """Listed local versions carry owner, domain and objective: the groups page reads none
    of them whole."""
    with CountingInventory(tmp_path / "inventory.db") as inventory:
        seed_ui_inventory(inventory, tmp_path / "work")
        listed = inventory.list_versions()
        assert all(set(r.record) == OWNER_KEYS for r in listed)
        client = TestClient(create_app(inventory, default_actor="c"), base_url="http://localhost")
        inventory.whole_reads = 0  # seeding approved some versions, which reads them
        groups = client.get("/api/groups").json()
        assert {g["owner"] for g in groups} >= {"my-team-id"}
        assert inventory.whole_reads == 0
