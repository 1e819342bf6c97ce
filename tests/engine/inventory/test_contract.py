"""The inventory contract: every backend must pass these (the SageMaker backend joins the list)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mimsreg.engine.execute import CREATED, UNCHANGED, execute_plan
from mimsreg.engine.inventory import Inventory, open_inventory
from mimsreg.engine.inventory.local import LocalInventory
from mimsreg.errors import NotFoundError
from tests.support.helpers import make_plan, write_model_archive

InventoryFactory = Callable[[], Inventory]


def make_backend(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Inventory:
    if kind == "local":
        return LocalInventory(tmp_path / "home" / "inventory.db")
    if kind == "sqlite-uri":
        return open_inventory(f"sqlite://{tmp_path / 'other' / 'x.db'}")
    request.getfixturevalue("aws")  # a clean moto server with the test buckets
    return open_inventory("sagemaker", regions=["us-east-1", "eu-west-1"])


@pytest.fixture(params=["local", "sqlite-uri", "sagemaker"])
def inventory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Inventory]:
    """Each backend, fresh (SageMaker: against a moto server on 127.0.0.1)."""
    with make_backend(request.param, request, tmp_path) as backend:
        yield backend


@pytest.fixture(params=["local", "sqlite-uri"])
def local_inventory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Inventory]:
    """The backends whose stores we run for real in every respect (see the approval test)."""
    with make_backend(request.param, request, tmp_path) as backend:
        yield backend


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    return write_model_archive(tmp_path / "in" / "model.tar.gz")


def test_empty_inventory_finds_nothing(inventory: Inventory, artifact: Path) -> None:
    plan = make_plan(artifact).regions[0]
    assert inventory.find_version(plan.region, plan.group, plan.identity) is None
    assert inventory.list_versions() == []


def test_register_then_rerun_is_unchanged(inventory: Inventory, artifact: Path) -> None:
    """The second registration of the same artifact and metadata writes nothing."""
    plan = make_plan(artifact, ["us-east-1", "eu-west-1"])
    first = execute_plan(plan, inventory, artifact)
    assert [(r.region, r.version, r.status) for r in first] == [
        ("us-east-1", 1, CREATED),
        ("eu-west-1", 1, CREATED),
    ]
    second = execute_plan(plan, inventory, artifact)
    assert [(r.version, r.status, r.id) for r in second] == [
        (r.version, UNCHANGED, r.id) for r in first
    ]
    assert len(inventory.list_versions()) == 2


def test_changed_metadata_makes_a_new_version(inventory: Inventory, artifact: Path) -> None:
    execute_plan(make_plan(artifact), inventory, artifact)
    result = execute_plan(make_plan(artifact, model_owner="new-owner"), inventory, artifact)
    assert (result[0].version, result[0].status) == (2, CREATED)


def test_versions_are_numbered_per_group_and_region(inventory: Inventory, tmp_path: Path) -> None:
    a = write_model_archive(tmp_path / "a.tar.gz", b"a")
    b = write_model_archive(tmp_path / "b.tar.gz", b"b")
    execute_plan(make_plan(a, ["us-east-1"]), inventory, a)
    execute_plan(make_plan(b, ["us-east-1", "eu-west-1"]), inventory, b)
    execute_plan(make_plan(a, model_package_group_name="other-group"), inventory, a)
    rows = [(r.group, r.region, r.version) for r in inventory.list_versions()]
    assert rows == [
        ("BuyerSellerMessaging-FraudDetection", "eu-west-1", 1),
        ("BuyerSellerMessaging-FraudDetection", "us-east-1", 1),
        ("BuyerSellerMessaging-FraudDetection", "us-east-1", 2),
        ("other-group", "us-east-1", 1),
    ]
    assert len(inventory.list_versions(region="eu-west-1")) == 1
    assert len(inventory.list_versions(group="other-group")) == 1


def test_get_version_returns_the_whole_record(inventory: Inventory, artifact: Path) -> None:
    plan = make_plan(artifact)
    execute_plan(plan, inventory, artifact)
    record = inventory.get_version("us-east-1", plan.regions[0].group, 1)
    data = record.to_dict()
    assert data["variable_schema"] == plan.spec.variable_schema()
    assert data["sha256"] == plan.manifest.sha256
    assert data["model_owner"] == "my-team-id"
    assert data["registered_by"]["user"] == "tester"
    assert data["approval_status"] == "PendingManualApproval"
    assert [e.status for e in record.approval_history] == ["PendingManualApproval"]


def test_missing_versions_are_not_found(inventory: Inventory) -> None:
    with pytest.raises(NotFoundError, match="nope/1"):
        inventory.get_version("us-east-1", "nope", 1)
    with pytest.raises(NotFoundError):
        inventory.set_approval("us-east-1", "nope", 1, "Approved", "me")


def test_approval_keeps_every_other_field_and_history(
    local_inventory: Inventory, artifact: Path
) -> None:
    """Approval changes the status only and keeps a full history.

    Not run against moto: moto's UpdateModelPackage blanks every field it is not given, unlike
    AWS. The SageMaker backend's update request is pinned by a botocore Stubber test instead
    (tests/engine/inventory/test_sagemaker_stubbed.py).
    """
    inventory = local_inventory
    plan = make_plan(artifact)
    execute_plan(plan, inventory, artifact)
    group = plan.regions[0].group
    before = inventory.get_version("us-east-1", group, 1).to_dict()
    inventory.set_approval("us-east-1", group, 1, "Approved", "alice", note="looks good")
    after = inventory.set_approval("us-east-1", group, 1, "Rejected", "bob", note="drift")
    assert after.approval_status == "Rejected"
    assert [(e.status, e.actor, e.note) for e in after.approval_history] == [
        ("PendingManualApproval", "tester", "registered"),
        ("Approved", "alice", "looks good"),
        ("Rejected", "bob", "drift"),
    ]
    changed = {k for k in before if before[k] != after.to_dict()[k]}
    assert changed == {"approval_status", "approval_history"}


def test_create_version_is_idempotent_when_racing(inventory: Inventory, artifact: Path) -> None:
    """A writer that lost the race gets the winner's version, not a duplicate."""
    region = make_plan(artifact).regions[0]
    inventory.ensure_group(region)
    inventory.ensure_group(region)  # get-or-create: a second call is fine
    first = inventory.create_version(region, artifact)
    second = inventory.create_version(region, artifact)
    assert (first.created, second.created) == (True, False)
    assert first.record.id == second.record.id
    assert len(inventory.list_versions()) == 1


def test_regions_of(inventory: Inventory, artifact: Path) -> None:
    plan = make_plan(artifact, ["us-east-1", "eu-west-1"])
    execute_plan(plan, inventory, artifact)
    assert inventory.regions_of(plan.regions[0].group, 1) == ["eu-west-1", "us-east-1"]
    assert inventory.regions_of(plan.regions[0].group, 2) == []
