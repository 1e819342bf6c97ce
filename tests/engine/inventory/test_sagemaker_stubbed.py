"""AWS behaviour pinned with botocore's Stubber where moto differs from AWS.

moto replaces an existing group on create, creates two versions for one ClientToken and blanks
unspecified fields on UpdateModelPackage; AWS answers "already exists", returns the same package
and leaves other fields alone. These tests fix the requests mimsreg sends and how it reads AWS's
answers.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from mimsreg.engine.inventory.sagemaker import SageMakerInventory
from mimsreg.engine.plan import RegionPlan
from tests.support.helpers import make_plan, write_model_archive

GROUP = "BuyerSellerMessaging-FraudDetection"
ARN = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{GROUP}/3"


def missing_group(stubber: Stubber) -> None:
    stubber.add_client_error(
        "describe_model_package_group",
        service_error_code="ValidationException",
        service_message=f"ModelPackageGroup {GROUP} does not exist.",
        expected_params={"ModelPackageGroupName": GROUP},
    )


def test_group_created_concurrently_is_success(
    stubbed: tuple[SageMakerInventory, Stubber], region_plan: RegionPlan
) -> None:
    """AWS answers a duplicate create with ValidationException 'already exists': success."""
    inventory, stubber = stubbed
    missing_group(stubber)
    stubber.add_client_error(
        "create_model_package_group",
        service_error_code="ValidationException",
        service_message=f"Model Package Group already exists: {GROUP}",
        expected_params={
            "ModelPackageGroupName": GROUP,
            "ModelPackageGroupDescription": ANY,
            "Tags": [{"Key": "mimsreg:managed", "Value": "true"}],
        },
    )
    inventory.ensure_group(region_plan)


def test_other_group_errors_are_not_swallowed(
    stubbed: tuple[SageMakerInventory, Stubber], region_plan: RegionPlan
) -> None:
    inventory, stubber = stubbed
    missing_group(stubber)
    stubber.add_client_error(
        "create_model_package_group",
        service_error_code="ValidationException",
        service_message="1 validation error detected: ModelPackageGroupName ...",
    )
    with pytest.raises(Exception, match="1 validation error"):
        inventory.ensure_group(region_plan)


def test_existing_group_is_not_created_again(
    stubbed: tuple[SageMakerInventory, Stubber], region_plan: RegionPlan
) -> None:
    """moto would replace the group (and wipe its tags) on create: mimsreg describes first."""
    inventory, stubber = stubbed
    stubber.add_response(
        "describe_model_package_group",
        {
            "ModelPackageGroupName": GROUP,
            "ModelPackageGroupArn": ARN.replace(f"model-package/{GROUP}/3", "model-package-group/")
            + GROUP,
            "CreationTime": datetime(2026, 1, 1, tzinfo=timezone.utc),
            "CreatedBy": {},
            "ModelPackageGroupStatus": "Completed",
        },
        {"ModelPackageGroupName": GROUP},
    )
    inventory.ensure_group(region_plan)


def test_create_request_is_deterministic_and_complete(region_plan: RegionPlan) -> None:
    """The same identity always sends the same ClientToken; every field AWS needs is there."""
    request = SageMakerInventory.create_request(
        region_plan, "s3://b/mimsreg/artifacts/x/model.tar.gz", "s3://b/s.json", "s3://b/r.json"
    )
    assert request == SageMakerInventory.create_request(
        region_plan, "s3://b/mimsreg/artifacts/x/model.tar.gz", "s3://b/s.json", "s3://b/r.json"
    )
    assert request["ClientToken"] == region_plan.client_token
    container = request["InferenceSpecification"]["Containers"][0]
    assert container["Framework"] == "XGBOOST"
    assert container["FrameworkVersion"] == "1.7-1"
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert request["InferenceSpecification"]["SupportedContentTypes"] == ["text/csv"]
    assert request["ModelApprovalStatus"] == "PendingManualApproval"
    metadata = request["CustomerMetadataProperties"]
    assert metadata["mimsreg:identity"] == region_plan.identity
    assert len(metadata) <= 50
    assert all(len(k) <= 128 and len(v) <= 256 for k, v in metadata.items())
    assert "SecurityConfig" not in request
    assert "SamplePayloadUrl" not in request


def test_create_request_carries_kms_and_payload(tmp_path: Path) -> None:
    artifact = write_model_archive(tmp_path / "model.tar.gz")
    plan = make_plan(artifact, kms_key_id="alias/models").regions[0]
    request = SageMakerInventory.create_request(
        plan, "s3://b/m", "s3://b/s", "s3://b/r", "s3://b/p"
    )
    assert request["SecurityConfig"] == {"KmsKeyId": "alias/models"}
    assert request["SamplePayloadUrl"] == "s3://b/p"


def package_description(status: str) -> dict[str, Any]:
    return {
        "ModelPackageName": GROUP,
        "ModelPackageGroupName": GROUP,
        "ModelPackageVersion": 3,
        "ModelPackageArn": ARN,
        "CreationTime": datetime(2026, 1, 1, tzinfo=timezone.utc),
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "ModelApprovalStatus": status,
        "CustomerMetadataProperties": {"mimsreg:sha256": "ab" * 32, "mimsreg:identity": "id"},
        "InferenceSpecification": {
            "Containers": [{"Image": "img", "ModelDataUrl": "s3://b/m"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    }


def test_approve_sends_only_the_approval_fields(
    stubbed: tuple[SageMakerInventory, Stubber],
) -> None:
    """AWS leaves every field it is not given alone; mimsreg sends nothing else to change."""
    inventory, stubber = stubbed
    listing = {
        "ModelPackageSummaryList": [
            {
                "ModelPackageArn": ARN,
                "ModelPackageGroupName": GROUP,
                "ModelPackageVersion": 3,
                "CreationTime": datetime(2026, 1, 1, tzinfo=timezone.utc),
                "ModelPackageStatus": "Completed",
            }
        ]
    }
    list_params = {
        "ModelPackageGroupName": GROUP,
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 100,
    }
    stubber.add_response("list_model_packages", listing, list_params)
    stubber.add_response(
        "describe_model_package",
        package_description("PendingManualApproval"),
        {"ModelPackageName": ARN},
    )
    stubber.add_response(
        "update_model_package",
        {"ModelPackageArn": ARN},
        {
            "ModelPackageArn": ARN,
            "ModelApprovalStatus": "Approved",
            "ApprovalDescription": "validated offline (by alice)",
        },
    )
    stubber.add_response("list_model_packages", listing, list_params)
    stubber.add_response(
        "describe_model_package", package_description("Approved"), {"ModelPackageName": ARN}
    )
    record = inventory.set_approval(
        "us-east-1", GROUP, 3, "Approved", "alice", note="validated offline"
    )
    assert record.approval_status == "Approved"
    assert record.sha256 == "ab" * 32
    assert record.artifact_uri == "s3://b/m"
