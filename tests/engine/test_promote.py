"""engine.promote: a version copied between inventories with the guarantees of register —
verified bytes, nothing half-written, a result per region, idempotent by identity, its history
carried and marked with where it came from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mimsreg.engine.errors import BadInputError, InventoryError, PlanError
from mimsreg.engine.execute import CREATED, FAILED, UNCHANGED
from mimsreg.engine.inventory import Inventory
from mimsreg.engine.inventory.base import (
    PROMOTED_FROM,
    ApprovalEvent,
    VersionRecord,
    initial_history,
)
from mimsreg.engine.inventory.local import LocalInventory
from mimsreg.engine.plan import RegistrationContext
from mimsreg.engine.promote import Source, promote
from mimsreg.engine.register import register
from tests.engine.inventory.test_contract import make_backend
from tests.support.helpers import seed_spec, write_model_archive

PROMOTER = RegistrationContext(user="release-bot", host="ci")
GROUP = "BuyerSellerMessaging-FraudDetection"


def opener(inventory: Inventory) -> Any:
    @contextmanager
    def open_target(regions: Any) -> Iterator[Inventory]:
        yield inventory

    return open_target


@pytest.fixture
def source(tmp_path: Path) -> Iterator[LocalInventory]:
    """A local inventory holding the seed model as GROUP/1 in us-east-1, approved."""
    model = write_model_archive(tmp_path / "model.tar.gz")
    with LocalInventory(tmp_path / "source" / "inventory.db") as inventory:
        register(
            seed_spec(), model, None, opener(inventory), context=RegistrationContext(user="bob")
        )
        inventory.set_approval("us-east-1", GROUP, 1, "Approved", "alice", "looks good")
        yield inventory


@pytest.fixture
def target(tmp_path: Path) -> Iterator[LocalInventory]:
    with LocalInventory(tmp_path / "target" / "inventory.db") as inventory:
        yield inventory


def source_of(inventory: Inventory, uri: str = "local", region: str = "us-east-1") -> Source:
    return Source(inventory, uri, region, GROUP, 1)


def test_promoted_version_keeps_identity_bytes_record_and_history(
    source: LocalInventory, target: LocalInventory
) -> None:
    promotion = promote(source_of(source), opener(target), ["us-east-1", "EU"], context=PROMOTER)
    assert [(r.region, r.version, r.status) for r in promotion.results] == [
        ("us-east-1", 1, CREATED),
        ("eu-west-1", 1, CREATED),
    ]
    original = source.get_version("us-east-1", GROUP, 1)
    copy = target.get_version("eu-west-1", GROUP, 1)
    assert (copy.identity, copy.sha256) == (original.identity, original.sha256)
    assert copy.approval_status == "Approved"
    assert copy.record["registration_region"] == "eu-west-1"
    assert copy.record["environment"]["SAGEMAKER_REGION"] == "eu-west-1"
    assert ".eu-west-1." in copy.record["image_uri"]
    assert copy.record["registered_by"] == original.record["registered_by"]
    origin = copy.record[PROMOTED_FROM]
    assert (origin["id"], origin["inventory"], origin["approval_status"]) == (
        original.id,
        "local",
        "Approved",
    )
    assert origin["promoted_by"]["user"] == "release-bot"
    assert [(e.status, e.actor, e.at, e.note) for e in copy.approval_history] == [
        (e.status, e.actor, e.at, f"in {original.id}: {e.note}") for e in original.approval_history
    ] + [("Approved", "release-bot", copy.approval_history[-1].at, f"promoted from {original.id}")]
    for field in ("artifact_uri", "payload_uri"):
        stored = Path(str(getattr(copy, field)).removeprefix("file://"))
        assert (
            stored.read_bytes()
            == Path(str(getattr(original, field)).removeprefix("file://")).read_bytes()
        )
        assert stored.is_relative_to(target.artifact_root)


def test_rerun_is_unchanged_and_a_directly_registered_copy_counts(
    source: LocalInventory, tmp_path: Path
) -> None:
    """Idempotent by identity: a re-run, and a region that registered the same model with the
    same configuration itself, are both 'unchanged'."""
    model = write_model_archive(tmp_path / "model.tar.gz")
    register(seed_spec(), model, ["eu-west-1"], opener(source))
    first = promote(source_of(source), opener(source), ["eu-west-1", "FE"], context=PROMOTER)
    assert [(r.region, r.status) for r in first.results] == [
        ("eu-west-1", UNCHANGED),
        ("us-west-2", CREATED),
    ]
    again = promote(
        source_of(source), opener(source), ["eu-west-1", "FE"], context=PROMOTER, status="Rejected"
    )
    assert [r.status for r in again.results] == [UNCHANGED, UNCHANGED]
    assert [r.id for r in again.results] == [r.id for r in first.results]
    assert source.get_version("us-west-2", GROUP, 1).approval_status == "Approved"


def test_status_overrides_the_source(source: LocalInventory, target: LocalInventory) -> None:
    promote(source_of(source), opener(target), context=PROMOTER, status="PendingManualApproval")
    copy = target.get_version("us-east-1", GROUP, 1)
    assert copy.approval_status == "PendingManualApproval"
    assert copy.approval_history[-1].status == "PendingManualApproval"
    with pytest.raises(BadInputError, match="status"):
        promote(source_of(source), opener(target), context=PROMOTER, status="Maybe")


def test_a_changed_artifact_is_refused_and_nothing_is_written(
    source: LocalInventory, target: LocalInventory
) -> None:
    stored = Path(source.get_version("us-east-1", GROUP, 1).artifact_uri.removeprefix("file://"))
    stored.write_bytes(write_model_archive(stored.parent / "other.tar.gz", b"other").read_bytes())
    with pytest.raises(InventoryError, match="the source's artifact changed"):
        promote(source_of(source), opener(target), context=PROMOTER)
    assert target.list_versions() == []


def test_a_changed_payload_is_refused_and_nothing_is_written(
    source: LocalInventory, target: LocalInventory
) -> None:
    stored = source.get_version("us-east-1", GROUP, 1).payload_uri
    assert stored is not None
    Path(stored.removeprefix("file://")).write_bytes(b"not the payload")
    with pytest.raises(InventoryError, match="the source's payload changed"):
        promote(source_of(source), opener(target), context=PROMOTER)
    assert target.list_versions() == []


def test_a_record_that_is_not_whole_is_bad_input(target: LocalInventory) -> None:
    class Partial(LocalInventory):
        """A version another tool made: the registry entry without mimsreg's record."""

        def get_version(self, region: str, group: str, version: int) -> VersionRecord:
            return replace(super().get_version(region, group, version), record={"x": 1})

    with Partial(target.database.parent / "partial.db") as partial:
        model = write_model_archive(target.database.parent / "model.tar.gz")
        register(seed_spec(), model, None, opener(partial))
        with pytest.raises(BadInputError, match="lacks model_owner"):
            promote(source_of(partial), opener(target), context=PROMOTER)
    assert target.list_versions() == []


def test_an_unplannable_region_stops_everything_before_any_write(
    source: LocalInventory, target: LocalInventory
) -> None:
    with pytest.raises(PlanError, match="not-a-region"):
        promote(source_of(source), opener(target), ["eu-west-1", "not-a-region"], context=PROMOTER)
    assert target.list_versions() == []


def test_a_failing_region_gets_its_result_and_the_others_go_on(
    source: LocalInventory, tmp_path: Path
) -> None:
    class BrokenInEu(LocalInventory):
        def create_version(self, plan: Any, *args: Any, **kwargs: Any) -> Any:
            if plan.region == "eu-west-1":
                raise InventoryError("eu-west-1 is down")
            return super().create_version(plan, *args, **kwargs)

    with BrokenInEu(tmp_path / "broken" / "inventory.db") as broken:
        promotion = promote(
            source_of(source), opener(broken), ["us-east-1", "eu-west-1"], context=PROMOTER
        )
        assert [(r.region, r.status, r.error) for r in promotion.results] == [
            ("us-east-1", CREATED, None),
            ("eu-west-1", FAILED, "eu-west-1 is down"),
        ]
        assert not promotion.ok
        assert [r.region for r in broken.list_versions()] == ["us-east-1"]


def test_a_dry_run_opens_no_target(source: LocalInventory) -> None:
    def refuse(regions: Any) -> Any:
        raise AssertionError("a dry run opened the target")

    promotion = promote(source_of(source), refuse, ["EU"], context=PROMOTER, dry_run=True)
    assert [(r.region, r.status) for r in promotion.results] == [("eu-west-1", "planned")]
    assert promotion.plan.regions[0].identity == promotion.source.identity


def test_promoting_a_promoted_version_marks_each_hop(
    source: LocalInventory, target: LocalInventory, tmp_path: Path
) -> None:
    promote(source_of(source), opener(target), context=PROMOTER)
    with LocalInventory(tmp_path / "third" / "inventory.db") as third:
        promote(source_of(target, "sqlite:///target"), opener(third), context=PROMOTER)
        notes = [e.note for e in third.get_version("us-east-1", GROUP, 1).approval_history]
    first, second = f"local:us-east-1:{GROUP}/1", f"local:us-east-1:{GROUP}/1"
    assert notes == [
        f"in {second}: in {first}: registered",
        f"in {second}: in {first}: looks good",
        f"in {second}: promoted from {first}",
        f"promoted from {second}",
    ]


def test_initial_history_of_a_registered_version() -> None:
    record = {"approval_status": "PendingManualApproval", "registered_by": {"user": "bob"}}
    assert initial_history(record, "t0") == [
        ApprovalEvent("PendingManualApproval", "bob", "t0", "registered")
    ]


@pytest.mark.parametrize("kind", ["local", "sagemaker"])
def test_every_backend_reads_back_what_it_stored(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The inventory contract's ``download``: the stored artifact and payload, byte for byte."""
    model = write_model_archive(tmp_path / "in" / "model.tar.gz")
    with make_backend(kind, request, tmp_path) as inventory:
        register(seed_spec(), model, None, opener(inventory))
        stored = inventory.get_version("us-east-1", GROUP, 1)
        inventory.download("us-east-1", stored.artifact_uri, tmp_path / "artifact")
        assert (tmp_path / "artifact").read_bytes() == model.read_bytes()
        assert stored.payload_uri is not None
        inventory.download("us-east-1", stored.payload_uri, tmp_path / "payload")
        assert (tmp_path / "payload").stat().st_size > 0
        with pytest.raises(InventoryError):
            inventory.download("us-east-1", "file:///etc/passwd", tmp_path / "passwd")
