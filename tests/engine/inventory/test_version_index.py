"""The identity → version index: lookups that cost the same however large the group, an index
built once for groups registered before it, a stopped registration healed, failed versions never
"unchanged" (``engine/inventory/version_index.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from mimsreg.engine.execute import CREATED, UNCHANGED, execute_plan
from mimsreg.engine.inventory.sagemaker import SageMakerInventory
from mimsreg.engine.inventory.version_index import INDEX_PREFIX
from tests.conftest import TEST_BUCKET
from tests.support.helpers import make_plan, write_model_archive

pytestmark = pytest.mark.usefixtures("aws")

REGION = "us-east-1"
BUCKET = TEST_BUCKET.format(region=REGION)


def register(tmp_path: Path, n: int, **changes: Any) -> tuple[Any, Any]:
    artifact = write_model_archive(tmp_path / f"model-{n}.tar.gz", weights=f"w{n}".encode())
    plan = make_plan(artifact, [REGION], **changes)
    (result,) = execute_plan(plan, SageMakerInventory(), artifact)
    return plan, result


def index_entry(group: str, identity: str) -> dict[str, Any]:
    body = boto3.client("s3", region_name=REGION).get_object(
        Bucket=BUCKET, Key=f"{INDEX_PREFIX}{group}/{identity}.json"
    )["Body"]
    return dict(json.loads(body.read()))


def test_lookups_do_not_grow_with_the_group(tmp_path: Path, strict_aws: Any) -> None:
    """With the group indexed, registering a new model and re-running an old one list the group
    never and describe one version at most, at 3 versions as at 6."""
    costs = []
    for n in range(6):
        strict_aws.requests.clear()
        _, result = register(tmp_path, n)
        assert result.status == CREATED
        if n in (2, 5):
            costs.append(
                (
                    strict_aws.requests["sagemaker:ListModelPackages"],
                    strict_aws.requests["sagemaker:DescribeModelPackage"],
                )
            )
    assert costs[0] == costs[1] == (0, 1)  # the describe: the new version, read back
    strict_aws.requests.clear()
    artifact = tmp_path / "model-0.tar.gz"
    (again,) = execute_plan(make_plan(artifact, [REGION]), SageMakerInventory(), artifact)
    assert (again.status, again.version) == (UNCHANGED, 1)
    assert strict_aws.requests["sagemaker:ListModelPackages"] == 0
    assert strict_aws.requests["sagemaker:DescribeModelPackage"] == 1


def test_a_group_registered_before_the_index_is_indexed_once(
    tmp_path: Path, strict_aws: Any
) -> None:
    """Versions whose index was removed (as for a group registered by an older mimsreg) are
    found by listing, and the first registration under the lock indexes them all: the next
    lookups list nothing."""
    plans = [register(tmp_path, n)[0] for n in range(3)]
    group = plans[0].regions[0].group
    s3 = boto3.client("s3", region_name=REGION)
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=INDEX_PREFIX)
    for item in listing["Contents"]:
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    strict_aws.requests.clear()
    _, result = register(tmp_path, 3)
    assert result.status == CREATED
    assert strict_aws.requests["sagemaker:ListModelPackages"] >= 1  # the one-time listing
    for plan in plans:
        identity = plan.regions[0].identity
        assert index_entry(group, identity)["state"] == "created"
    strict_aws.requests.clear()
    _, result = register(tmp_path, 4)
    assert result.status == CREATED
    assert strict_aws.requests["sagemaker:ListModelPackages"] == 0


def test_a_registration_stopped_before_its_index_entry_is_healed(tmp_path: Path) -> None:
    """An entry left "creating" (the process died after the create) is resolved by a listing:
    the version is found, reported unchanged, and the entry rewritten."""
    plan, result = register(tmp_path, 0)
    region_plan = plan.regions[0]
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET,
        Key=f"{INDEX_PREFIX}{region_plan.group}/{region_plan.identity}.json",
        Body=json.dumps({"state": "creating", "client_token": region_plan.client_token}),
    )
    _, again = register(tmp_path, 0)
    assert (again.status, again.id) == (UNCHANGED, result.id)
    assert index_entry(region_plan.group, region_plan.identity) == {
        **index_entry(region_plan.group, region_plan.identity),
        "state": "created",
        "arn": result.id,
    }


def test_a_failed_version_is_never_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version SageMaker reports Failed is not the identity's version: a re-run creates a new
    one, with a ClientToken of its own (the old token would return the failed version)."""
    plan, first = register(tmp_path, 0)
    original = SageMakerInventory._describe

    def failed_first(self: SageMakerInventory, region: str, arn: str) -> dict[str, Any]:
        package = original(self, region, arn)
        if arn == first.id:
            package["ModelPackageStatus"] = "Failed"
        return package

    monkeypatch.setattr(SageMakerInventory, "_describe", failed_first)
    tokens: list[str] = []
    create = SageMakerInventory._create_package

    def record_token(self: SageMakerInventory, plan_: Any, request: Any, lock: Any) -> str:
        tokens.append(request["ClientToken"])
        return create(self, plan_, request, lock)

    monkeypatch.setattr(SageMakerInventory, "_create_package", record_token)
    _, second = register(tmp_path, 0)
    assert (second.status, second.version) == (CREATED, 2)
    assert tokens != [plan.regions[0].client_token]
    assert len(tokens) == 1
