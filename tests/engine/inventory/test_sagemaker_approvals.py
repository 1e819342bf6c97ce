"""Approval history on SageMaker: appended with S3 conditional writes, the package's status
settled on the history's last event, against the moto server behind the strict AWS layer."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest

from mimsreg.engine.execute import CREATED, execute_plan
from mimsreg.engine.inventory.base import ApprovalEvent
from mimsreg.engine.inventory.sagemaker import RegionClients, SageMakerInventory
from mimsreg.engine.inventory.sagemaker.documents import append_approval
from mimsreg.errors import InventoryError
from tests.conftest import TEST_BUCKET
from tests.support.helpers import make_plan, write_model_archive

pytestmark = pytest.mark.usefixtures("aws")

REGION = "us-east-1"
BUCKET = TEST_BUCKET.format(region=REGION)
KEY = "mimsreg/approvals/some-identity.json"


def registered(tmp_path: Path) -> tuple[str, str]:
    """One version in us-east-1: (group, history key)."""
    artifact = write_model_archive(tmp_path / "model.tar.gz")
    plan = make_plan(artifact, [REGION])
    [result] = execute_plan(plan, SageMakerInventory(), artifact)
    assert result.status == CREATED
    return result.group, f"mimsreg/approvals/{plan.regions[0].identity}.json"


def stored(key: str) -> list[dict[str, Any]]:
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=key)["Body"]
    events: list[dict[str, Any]] = json.loads(body.read())
    return events


def package(group: str) -> dict[str, Any]:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    [summary] = sagemaker.list_model_packages(ModelPackageGroupName=group)[
        "ModelPackageSummaryList"
    ]
    return dict(sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"]))


def test_concurrent_approvals_keep_every_event_in_order_and_the_status_is_the_last(
    tmp_path: Path,
) -> None:
    """N approvals and rejections at once, each from its own inventory (own clients): the
    history holds the registration and all N, in the order they were written, and the
    package's status and description are the last event's."""
    group, key = registered(tmp_path)
    count = 8
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def decide(number: int) -> None:
        inventory = SageMakerInventory()
        status = "Approved" if number % 2 else "Rejected"
        start.wait()
        try:
            inventory.set_approval(REGION, group, 1, status, f"actor-{number}", f"note {number}")
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=decide, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    events = stored(key)
    assert events[0]["note"] == "registered"
    decisions = events[1:]
    assert sorted(e["note"] for e in decisions) == sorted(f"note {n}" for n in range(count))
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    last = decisions[-1]
    described = package(group)
    assert described["ModelApprovalStatus"] == last["status"]
    assert described["ApprovalDescription"] == f"{last['note']} (by {last['actor']})"
    record = SageMakerInventory().get_version(REGION, group, 1)
    assert record.approval_status == last["status"]
    assert [e.to_dict() for e in record.approval_history] == events


def test_a_status_set_from_a_stale_read_is_settled_on_the_last_event(tmp_path: Path) -> None:
    """A writes its event, and while its UpdateModelPackage is on its way B writes and settles
    its own: A's update lands last with A's status, so A reads the history again, sees B's
    event and sets B's. Without that second look the status would be A's, the history B's."""
    group, key = registered(tmp_path)
    session = boto3.Session()
    sagemaker = session.client("sagemaker", region_name=REGION)
    late = SageMakerInventory(
        clients={REGION: RegionClients(session.client("s3", region_name=REGION), sagemaker)}
    )
    interleaved: list[str] = []

    def before_update(**_: Any) -> None:
        if not interleaved:  # the first of A's updates only
            interleaved.append("B")
            SageMakerInventory().set_approval(REGION, group, 1, "Rejected", "bob", "not yet")

    sagemaker.meta.events.register("before-call.sagemaker.UpdateModelPackage", before_update)
    late.set_approval(REGION, group, 1, "Approved", "alice", "ship it")
    assert interleaved == ["B"]
    assert [(e["status"], e["actor"]) for e in stored(key)][1:] == [
        ("Approved", "alice"),
        ("Rejected", "bob"),
    ]
    assert package(group)["ModelApprovalStatus"] == "Rejected"


def test_append_starts_a_missing_history_from_the_initial_events() -> None:
    """No document yet: it is written (If-None-Match: *) with the initial events, then ours."""
    s3 = boto3.client("s3", region_name=REGION)
    first = ApprovalEvent("PendingManualApproval", "unknown", "2026-01-01T00:00:00Z", None)
    history = append_approval(
        s3, f"s3://{BUCKET}/{KEY}", "Approved", "alice", "ok", initial=lambda: (first,)
    )
    assert [(e.status, e.actor, e.note) for e in history] == [
        ("PendingManualApproval", "unknown", None),
        ("Approved", "alice", "ok"),
    ]
    assert stored(KEY) == [e.to_dict() for e in history]


def test_concurrent_appends_lose_nothing() -> None:
    """The function alone, 12 threads at one document: 12 events, each once."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"[]")
    start = threading.Barrier(12)

    def append(number: int) -> None:
        client = boto3.client("s3", region_name=REGION)
        start.wait()
        append_approval(client, f"s3://{BUCKET}/{KEY}", "Approved", f"a{number}")

    threads = [threading.Thread(target=append, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(e["actor"] for e in stored(KEY)) == sorted(f"a{n}" for n in range(12))


def test_a_history_that_is_not_a_list_of_events_is_refused_and_left_alone() -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b'{"not": "a list"}')
    with pytest.raises(InventoryError, match=f"s3://{BUCKET}/{KEY}.*not a list"):
        append_approval(s3, f"s3://{BUCKET}/{KEY}", "Approved", "alice")
    body = s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    assert body == b'{"not": "a list"}'
