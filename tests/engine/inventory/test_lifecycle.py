"""Release ids, references and a version's life in the engine: the pure rules, and what each
backend keeps (the local database's tombstones and migration; SageMaker's region scan)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from mimsreg.engine.errors import BadInputError, InventoryError, NotFoundError, RegistryWarning
from mimsreg.engine.execute import execute_plan
from mimsreg.engine.inventory.base import VersionRecord, release_of
from mimsreg.engine.inventory.lifecycle import (
    VersionFilter,
    approve_release,
    check_tags,
    decide,
    diff_versions,
    parse_since,
    parse_status,
    parse_tag_assignments,
)
from mimsreg.engine.inventory.local import MIGRATIONS, LocalInventory
from mimsreg.engine.inventory.releases import locate, number_drift, parse_reference, resolve
from mimsreg.engine.inventory.sagemaker import RegionClients, SageMakerInventory
from tests.support.helpers import make_plan, write_model_archive

GROUP = "BuyerSellerMessaging-FraudDetection"


def version(region: str, number: int, identity: str, **fields: object) -> VersionRecord:
    values: dict[str, object] = {
        "region": region,
        "group": GROUP,
        "version": number,
        "id": f"{region}/{number}",
        "sha256": "0" * 64,
        "identity": identity,
        "approval_status": "PendingManualApproval",
        "created_at": "2026-05-01T12:00:00.000000Z",
        "artifact_uri": "",
        **fields,
    }
    return VersionRecord(**values)  # type: ignore[arg-type]


# --- references ----------------------------------------------------------------------------------
def test_references_parse() -> None:
    """GROUP/VERSION, GROUP/latest and GROUP@RELEASE (any case, at least 4 hex digits)."""
    assert parse_reference("G/3").version == 3
    assert parse_reference("G/latest").latest
    assert parse_reference("G@ABCDEF12").release == "abcdef12"
    for bad in ("G", "G/0", "/3", "G/x", "G@abc", "G@xyz1", "@abcd", "G/1@abcd"):
        with pytest.raises(BadInputError, match="GROUP/latest or GROUP@RELEASE"):
            parse_reference(bad)


class Listed(LocalInventory):
    """A local inventory whose listing is given (the references' rules, without registering)."""

    def __init__(self, tmp_path: Path, versions: list[VersionRecord]) -> None:
        super().__init__(tmp_path / "inventory.db")
        self._versions = versions

    def list_versions(
        self, region: str | None = None, group: str | None = None
    ) -> list[VersionRecord]:
        return [v for v in self._versions if region in (None, v.region)]


def test_release_prefix_latest_and_ambiguity(tmp_path: Path) -> None:
    """A prefix names one release (one version per region); a prefix two releases share is
    refused naming both; latest is the highest number in each region."""
    versions = [
        version("us-east-1", 1, "abcd1" + "0" * 59),
        version("us-east-1", 2, "abcd2" + "0" * 59),
        version("eu-west-1", 3, "abcd2" + "0" * 59),
        version("eu-west-1", 1, "ffff" + "0" * 60),
    ]
    with Listed(tmp_path, versions) as inventory:
        found = resolve(inventory, parse_reference(f"{GROUP}@abcd2"))
        assert [(v.region, v.version) for v in found] == [("us-east-1", 2), ("eu-west-1", 3)]
        with pytest.raises(BadInputError, match="ambiguous: releases abcd10000000, abcd20000000"):
            resolve(inventory, parse_reference(f"{GROUP}@abcd"))
        latest = resolve(inventory, parse_reference(f"{GROUP}/latest"))
        assert [(v.region, v.version) for v in latest] == [("eu-west-1", 3), ("us-east-1", 2)]
        assert locate(inventory, parse_reference(f"{GROUP}@abcd2"), "eu-west-1") == (
            "eu-west-1",
            GROUP,
            3,
        )
        with pytest.raises(BadInputError, match=r"several regions \(us-east-1 .*/2, eu-west-1"):
            locate(inventory, parse_reference(f"{GROUP}@abcd2"))
        with pytest.raises(NotFoundError, match="in region ap-southeast-2"):
            locate(inventory, parse_reference(f"{GROUP}/latest"), "ap-southeast-2")


def test_number_drift() -> None:
    """Warned only when one release's numbers differ, naming each region's number."""
    same = [version("us-east-1", 2, "a" * 64), version("eu-west-1", 2, "a" * 64)]
    assert number_drift(same) is None
    assert number_drift(same[:1]) is None
    drifted = [version("us-east-1", 2, "a" * 64), version("eu-west-1", 3, "a" * 64)]
    message = number_drift(drifted)
    assert message is not None
    assert f"eu-west-1 {GROUP}/3, us-east-1 {GROUP}/2" in message
    assert f"{GROUP}@{release_of('a' * 64)}" in message


# --- the rules of a version's life ---------------------------------------------------------------
def test_tags_follow_aws_rules() -> None:
    check_tags({"team": "fraud", "empty": "", "a.b/c=d+e-f@g:h_": "x y"})
    check_tags({}, ["team"])
    cases = {
        "tag key 'bad!'": ({"bad!": "x"}, []),
        "'aws:' is reserved": ({"AWS:team": "x"}, []),
        "tag key 'x": ({"x" * 117: "x"}, []),
        "the value must be": ({"k": "v\n"}, []),
        "both set and removed": ({"k": "v"}, ["k"]),
        "no tag to set": ({}, []),
    }
    for message, (tags, remove) in cases.items():
        with pytest.raises(BadInputError, match=message):
            check_tags(tags, remove)
    check_tags({"x" * 116: "v" * 256})
    assert parse_tag_assignments(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(BadInputError, match="write key=value"):
        parse_tag_assignments(["novalue"])


def test_status_and_since() -> None:
    assert parse_status("pending") == "PendingManualApproval"
    assert parse_status("APPROVED") == "Approved"
    assert parse_status("rejected") == "Rejected"
    with pytest.raises(BadInputError, match="'maybe' is not an approval status"):
        parse_status("maybe")
    now = datetime(2026, 5, 2, 12, tzinfo=timezone.utc)
    assert parse_since("1d", now) == datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    assert parse_since("2026-05-01") == datetime(2026, 5, 1, tzinfo=timezone.utc)
    with pytest.raises(BadInputError, match="neither a duration"):
        parse_since("last week")


def test_filter_reads_both_backends_timestamps() -> None:
    """Local timestamps end in Z, SageMaker's carry +00:00: both compare."""
    since = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    local = version("us-east-1", 1, "a" * 64, created_at="2026-05-01T12:00:00.000001Z")
    remote = version("us-east-1", 2, "b" * 64, created_at="2026-05-01T11:59:59+00:00")
    assert VersionFilter(since=since).select([local, remote]) == [local]
    owned = version("us-east-1", 3, "c" * 64, owner="Risk", domain="Pay")
    assert VersionFilter(owner="risk", domain="PAY").select([local, owned]) == [owned]
    assert VersionFilter(status="Approved").select([local, owned]) == []


def test_diff_of_reordered_schema() -> None:
    schema_a = {
        "input": {"variables": [{"name": "a", "type": "NUMERIC"}, {"name": "b", "type": "TEXT"}]}
    }
    schema_b = {
        "input": {"variables": [{"name": "b", "type": "TEXT"}, {"name": "a", "type": "NUMERIC"}]}
    }
    a = version("us-east-1", 1, "a" * 64, record={"variable_schema": schema_a})
    b = version("us-east-1", 2, "a" * 64, record={"variable_schema": schema_b})
    difference = diff_versions(a, b)
    assert difference["schema"] == {
        "input": {"added": [], "removed": [], "changed": [], "reordered": True}
    }
    assert difference["metadata"] == {}
    assert difference["same_release"] is True
    assert difference["same"] is False


# --- the local backend ---------------------------------------------------------------------------
@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalInventory]:
    with LocalInventory(tmp_path / "home" / "inventory.db") as inventory:
        yield inventory


def test_local_delete_keeps_the_number_and_the_history(
    local: LocalInventory, tmp_path: Path
) -> None:
    """The tombstone holds the history; the next version gets a new number; the same identity
    registered again is a new version."""
    a = write_model_archive(tmp_path / "a.tar.gz", b"a")
    b = write_model_archive(tmp_path / "b.tar.gz", b"b")
    execute_plan(make_plan(a), local, a)
    execute_plan(make_plan(b), local, b)
    local.set_approval("us-east-1", GROUP, 2, "Approved", "alice", "ok")
    tombstone = local.delete_version("us-east-1", GROUP, 2, "bob", "withdrawn")
    assert [e.status for e in tombstone.approval_history] == ["PendingManualApproval", "Approved"]
    assert local.tombstone("us-east-1", GROUP, 2) == tombstone
    assert local.tombstone("us-east-1", GROUP, 1) is None
    with pytest.raises(NotFoundError):
        local.get_version("us-east-1", GROUP, 2)
    with pytest.raises(NotFoundError):
        local.delete_version("us-east-1", GROUP, 2, "bob")
    [again] = execute_plan(make_plan(b), local, b)
    assert (again.version, again.status) == (3, "created")
    assert local.integrity_check() == "ok"


def test_local_schema_2_is_migrated(tmp_path: Path) -> None:
    """A database of schema version 2 (before tombstones) opens, keeps its versions, deletes;
    opened read-only (no migration), a missing version is simply not found."""
    database = tmp_path / "old" / "inventory.db"
    a = write_model_archive(tmp_path / "a.tar.gz")
    with LocalInventory(database) as inventory:
        execute_plan(make_plan(a), inventory, a)
    connection = sqlite3.connect(database)
    connection.execute("DROP TABLE tombstones")
    connection.execute("PRAGMA user_version = 2")
    connection.commit()
    connection.close()
    with LocalInventory(database, read_only=True) as inventory:
        assert inventory.tombstone("us-east-1", GROUP, 2) is None
    with LocalInventory(database) as inventory:
        assert [v.version for v in inventory.list_versions()] == [1]
        inventory.delete_version("us-east-1", GROUP, 1, "me")
        assert inventory.list_versions() == []
    connection = sqlite3.connect(database)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 3
    connection.close()


def test_approve_release_by_identity(local: LocalInventory, tmp_path: Path) -> None:
    """Every region's version of the release, whatever its number; others untouched; a second
    decision records nothing."""
    a, c, b = (write_model_archive(tmp_path / f"{n}.tar.gz", n.encode()) for n in "acb")
    execute_plan(make_plan(a, ["us-east-1"]), local, a)
    execute_plan(make_plan(c, ["eu-west-1"]), local, c)
    execute_plan(make_plan(b, ["us-east-1", "eu-west-1"]), local, b)
    anchor = local.get_version("us-east-1", GROUP, 2)
    decisions = approve_release(local, anchor, "Approved", "alice")
    assert [(d.record.region, d.record.version, d.changed) for d in decisions] == [
        ("us-east-1", 2, True),
        ("eu-west-1", 2, True),
    ]
    assert local.get_version("eu-west-1", GROUP, 1).approval_status == "PendingManualApproval"
    repeated = decide(local, "eu-west-1", GROUP, 2, "Approved", "bob")
    assert (repeated.changed, repeated.recorded) == (False, False)
    assert len(local.get_version("eu-west-1", GROUP, 2).approval_history) == 2


# --- the SageMaker backend's region scan ---------------------------------------------------------
@pytest.fixture
def two_regions() -> Iterator[tuple[SageMakerInventory, Stubber, Stubber]]:
    session = boto3.Session(region_name="us-east-1")
    clients, stubbers = {}, []
    for region in ("eu-west-1", "us-east-1"):
        sagemaker = session.client("sagemaker", region, endpoint_url="http://127.0.0.1:9")
        s3 = session.client("s3", region, endpoint_url="http://127.0.0.1:9")
        clients[region] = RegionClients(s3, sagemaker)
        stubbers.append(Stubber(sagemaker))
    for stubber in stubbers:
        stubber.activate()
    yield SageMakerInventory(clients=clients), stubbers[0], stubbers[1]
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def test_sagemaker_release_scan_skips_regions_it_may_not_use(
    two_regions: tuple[SageMakerInventory, Stubber, Stubber],
) -> None:
    """With clients given, their regions only; a region whose credentials are refused
    (an opt-in region not enabled) is skipped; a region without the group holds nothing."""
    inventory, europe, america = two_regions
    assert inventory.release_regions() == ["eu-west-1", "us-east-1"]
    europe.add_client_error(
        "list_model_packages",
        service_error_code="UnrecognizedClientException",
        service_message="The security token included in the request is invalid.",
        http_status_code=400,
    )
    america.add_client_error(
        "list_model_packages",
        service_error_code="ValidationException",
        service_message=f"ModelPackageGroup {GROUP} does not exist.",
    )
    assert inventory.versions_of(GROUP, "a" * 64) == []


def test_sagemaker_release_scan_reports_other_errors(
    two_regions: tuple[SageMakerInventory, Stubber, Stubber],
) -> None:
    inventory, europe, america = two_regions
    europe.add_client_error(
        "list_model_packages", service_error_code="ValidationException", service_message="bad"
    )
    america.add_client_error(
        "list_model_packages",
        service_error_code="ValidationException",
        service_message=f"ModelPackageGroup {GROUP} does not exist.",
    )
    with pytest.raises(InventoryError, match=r"region eu-west-1: ClientError.*bad"):
        inventory.versions_of(GROUP, "a" * 64)


def test_sagemaker_release_scan_warns_of_denied_regions(
    two_regions: tuple[SageMakerInventory, Stubber, Stubber],
) -> None:
    """A region a policy denies may hold a version unseen: skipped, with a warning naming it."""
    inventory, europe, america = two_regions
    europe.add_client_error(
        "list_model_packages",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: sagemaker:ListModelPackages",
    )
    america.add_client_error(
        "list_model_packages",
        service_error_code="ValidationException",
        service_message=f"ModelPackageGroup {GROUP} does not exist.",
    )
    with pytest.warns(RegistryWarning, match=r"eu-west-1: not searched .*AccessDeniedException"):
        assert inventory.versions_of(GROUP, "a" * 64) == []
