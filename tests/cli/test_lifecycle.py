"""Releases across regions and a version's life through the CLI, on the local inventory and on
SageMaker (moto behind the strict AWS layer): each example of docs/lifecycle.md."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from tests.conftest import SEED_EXAMPLE, TEST_BUCKET
from tests.support.cli import invoke
from tests.support.helpers import write_model_archive

GROUP = "BuyerSellerMessaging-FraudDetection"
US, EU = "us-east-1", "eu-west-1"


@pytest.fixture(params=["local", "sagemaker"])
def inventory(request: pytest.FixtureRequest) -> str:
    """The inventory URI; SageMaker: a clean moto behind the strict layer."""
    if request.param == "sagemaker":
        request.getfixturevalue("aws")
    return str(request.param)


def write_config(path: Path, **changes: Any) -> Path:
    path.write_text(yaml.safe_dump({**SEED_EXAMPLE, "bucket": TEST_BUCKET, **changes}))
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path / "config.yaml")


def register(
    inventory: str, model: Path, config: Path, regions: str
) -> tuple[list[dict[str, Any]], str]:
    """The registration's per-region results and its stderr."""
    result = invoke(
        "register",
        model,
        "--config",
        config,
        "--inventory",
        inventory,
        "--region",
        regions,
        "--json",
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def run(*args: object) -> Any:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--json" in args else result


def models(tmp_path: Path, *names: str) -> list[Path]:
    return [write_model_archive(tmp_path / name / "model.tar.gz", name.encode()) for name in names]


def test_all_regions_approves_the_release_never_the_number(
    inventory: str, config: Path, tmp_path: Path
) -> None:
    """`approve G/2 --region us-east-1 --all-regions` approves the same release in eu-west-1,
    where its number is 3, and not the eu-west-1 version numbered 2 (another model). Register
    warned about the drift; the release is shown by list and show, and names the version."""
    a, c, d, b = models(tmp_path, "a", "c", "d", "b")
    register(inventory, a, config, US)
    register(inventory, c, config, EU)
    register(inventory, d, config, EU)
    results, stderr = register(inventory, b, config, f"{US},{EU}")
    assert [(r["region"], r["version"]) for r in results] == [(US, 2), (EU, 3)]
    release = results[0]["release"]
    assert re.fullmatch(r"[0-9a-f]{12}", release)
    assert results[1]["release"] == release
    assert f"warning: release {release} of {GROUP} has different version numbers" in stderr
    assert f"{EU} {GROUP}/3, {US} {GROUP}/2" in stderr

    decided = run(
        "approve",
        f"{GROUP}/2",
        "--region",
        US,
        "--all-regions",
        "--inventory",
        inventory,
        "--json",
    )
    assert [(d["region"], d["version"], d["approval_status"]) for d in decided] == [
        (US, 2, "Approved"),
        (EU, 3, "Approved"),
    ]
    listed = run("list", "--inventory", inventory, "--region", EU, "--json")
    assert [(r["version"], r["approval_status"]) for r in listed] == [
        (1, "PendingManualApproval"),
        (2, "PendingManualApproval"),
        (3, "Approved"),
    ]
    assert listed[2]["release"] == release
    assert listed[1]["release"] != release
    shown = run(
        "show", f"{GROUP}@{release[:6]}", "--region", EU, "--inventory", inventory, "--json"
    )
    assert (shown["version"], shown["release"]) == (3, release)
    latest = run("show", f"{GROUP}/latest", "--region", EU, "--inventory", inventory)
    assert latest.stdout.startswith(f"{GROUP}/3 in {EU}")
    assert f"release           {release}" in latest.stdout
    text = run(
        "approve", f"{GROUP}@{release}", "--region", EU, "--all-regions", "--inventory", inventory
    )
    assert text.stdout.splitlines() == [
        f"{GROUP}/3 in {EU}: already Approved",
        f"{GROUP}/2 in {US}: already Approved",
    ]
    by_number = invoke(
        "delete", f"{GROUP}/2", "--region", f"{US},{EU}", "--yes", "--inventory", inventory
    )
    assert by_number.exit_code == 2
    assert "names different releases in the regions given" in by_number.stderr

    def everywhere() -> list[tuple[str, int]]:
        rows = [
            row
            for region in (EU, US)
            for row in run("list", "--inventory", inventory, "--region", region, "--json")
        ]
        return [(row["region"], row["version"]) for row in rows]

    assert len(everywhere()) == 5
    deleted = run(
        "delete",
        f"{GROUP}@{release}",
        "--region",
        US,
        "--region",
        EU,
        "--yes",
        "--inventory",
        inventory,
        "--json",
    )
    assert [(t["region"], t["version"]) for t in deleted] == [(US, 2), (EU, 3)]
    assert everywhere() == [(EU, 1), (EU, 2), (US, 1)]


def test_an_ambiguous_or_unknown_reference_is_bad_input(
    inventory: str, config: Path, tmp_path: Path
) -> None:
    """A release prefix no version has is not found; a malformed one is refused (exit 2)."""
    [a] = models(tmp_path, "a")
    register(inventory, a, config, US)
    absent = invoke("show", f"{GROUP}@ffff0000", "--region", US, "--inventory", inventory)
    assert absent.exit_code == 2
    assert f"{GROUP}@ffff0000 is not in the {inventory} inventory" in absent.stderr
    malformed = invoke("show", f"{GROUP}@xyz", "--inventory", inventory)
    assert malformed.exit_code == 2
    assert "GROUP/latest or GROUP@RELEASE" in malformed.stderr


def test_approval_that_changes_nothing_records_nothing(
    inventory: str, config: Path, tmp_path: Path
) -> None:
    """Approving twice says "already Approved" and adds no event; --note records it anyway;
    --pending goes back to PendingManualApproval; --reject with --pending is refused."""
    [a] = models(tmp_path, "a")
    register(inventory, a, config, US)
    ref = (f"{GROUP}/1", "--region", US, "--inventory", inventory)
    run("approve", *ref)
    again = run("approve", *ref)
    assert again.stdout.strip() == f"{GROUP}/1 in {US}: already Approved"
    history = run("show", *ref, "--json")["approval_history"]
    assert [e["status"] for e in history] == ["PendingManualApproval", "Approved"]
    noted = run("approve", *ref, "--note", "second approver", "--json")
    assert (noted["changed"], noted["recorded"]) == (False, True)
    assert noted["approval_history"][-1]["note"] == "second approver"
    pending = run("approve", *ref, "--pending")
    assert pending.stdout.strip() == f"{GROUP}/1 in {US}: PendingManualApproval"
    both = invoke("approve", *ref, "--pending", "--reject")
    assert both.exit_code == 2
    assert "--reject and --pending" in both.stderr
    statuses = [e["status"] for e in run("show", *ref, "--json")["approval_history"]]
    assert statuses == ["PendingManualApproval", "Approved", "Approved", "PendingManualApproval"]


def test_tag_and_describe(inventory: str, config: Path, tmp_path: Path) -> None:
    """Tags are set and removed and the description replaced; every other field stays. A bad
    tag is refused before anything is written (exit 2). SageMaker keeps tags as metadata."""
    [a] = models(tmp_path, "a")
    register(inventory, a, config, US)
    ref = (f"{GROUP}/1", "--region", US, "--inventory", inventory)
    before = run("show", *ref, "--json")
    run("tag", *ref, "team=fraud", "tier=gold")
    tagged = run("tag", *ref, "stage=prod", "--remove", "tier", "--json")
    assert tagged["tags"] == {"team": "fraud", "stage": "prod"}
    refused = invoke("tag", *ref, "bad key!=x", "aws:owner=me")
    assert refused.exit_code == 2
    assert "tag key 'bad key!'" in refused.stderr
    assert "'aws:' is reserved" in refused.stderr
    described = run("describe", *ref, "Fraud model, retrained on May data", "--json")
    assert described["description"] == "Fraud model, retrained on May data"
    after = run("show", *ref, "--json")
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {"tags", "description"}
    assert "tags              stage=prod, team=fraud" in run("show", *ref).stdout
    if inventory == "sagemaker":
        package = boto3.client("sagemaker", region_name=US).describe_model_package(
            ModelPackageName=after["id"]
        )
        metadata = package["CustomerMetadataProperties"]
        assert {k: v for k, v in metadata.items() if k.startswith("mimsreg:tag:")} == {
            "mimsreg:tag:team": "fraud",
            "mimsreg:tag:stage": "prod",
        }
        assert metadata["mimsreg:identity"] == after["identity"]  # the rest kept


def artifact_exists(inventory: str, uri: str) -> bool:
    if inventory == "local":
        return Path(uri.removeprefix("file://")).is_file()
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    listed = boto3.client("s3", region_name=US).list_objects_v2(Bucket=bucket, Prefix=key)
    return bool(listed.get("Contents"))


def test_delete_keeps_a_tombstone_and_gc_takes_the_artifact(
    inventory: str, config: Path, tmp_path: Path
) -> None:
    """Without --yes and no answer nothing is deleted; with --yes the version goes, show names
    who deleted it and when, the number is not given again, and gc removes its artifact while
    the artifact of the version kept stays."""
    a, b, c = models(tmp_path, "a", "b", "c")
    register(inventory, a, config, US)
    register(inventory, b, config, US)
    ref = (f"{GROUP}/2", "--region", US, "--inventory", inventory)
    doomed = run("show", *ref, "--json")
    declined = invoke("delete", *ref)
    assert declined.exit_code == 1
    assert run("show", *ref, "--json")["id"] == doomed["id"]

    deleted = run("delete", *ref, "--yes", "--note", "trained on bad data", "--json")
    assert [(t["version"], t["note"], t["release"]) for t in deleted] == [
        (2, "trained on bad data", doomed["release"])
    ]
    assert [e["status"] for e in deleted[0]["approval_history"]] == ["PendingManualApproval"]
    listed = run("list", "--inventory", inventory, "--json")
    assert [r["version"] for r in listed] == [1]
    gone = invoke("show", *ref)
    assert gone.exit_code == 2
    assert re.search(
        rf"{GROUP}/2 in {US} was deleted at \S+ by \S+ \(trained on bad data\)", gone.stderr
    )
    results, _ = register(inventory, c, config, US)
    assert results[0]["version"] == 3

    kept = run("show", f"{GROUP}/1", "--region", US, "--inventory", inventory, "--json")
    assert artifact_exists(inventory, doomed["artifact_uri"])
    run("gc", "--inventory", inventory, "--region", US, "--older-than", "0s")
    assert not artifact_exists(inventory, doomed["artifact_uri"])
    assert artifact_exists(inventory, kept["artifact_uri"])


def test_diff(inventory: str, config: Path, tmp_path: Path) -> None:
    """Metadata, schema, digest and approval differences; none between a version and itself."""
    [a, b] = models(tmp_path, "a", "b")
    register(inventory, a, config, US)
    inputs = dict(SEED_EXAMPLE["source_model_inference_input_variable_list"])
    inputs["account_age"] = "TEXT"
    del inputs["country_code"]
    inputs["device"] = "TEXT"
    other = write_config(
        tmp_path / "other.yaml",
        model_owner="risk-team",
        source_model_inference_input_variable_list=inputs,
    )
    register(inventory, b, other, US)
    run("approve", f"{GROUP}/2", "--region", US, "--inventory", inventory)
    where = ("--region", US, "--inventory", inventory)
    difference = run("diff", f"{GROUP}/1", f"{GROUP}/latest", *where, "--json")
    assert difference["metadata"]["model_owner"] == {"a": "my-team-id", "b": "risk-team"}
    assert difference["schema"]["input"] == {
        "added": [{"name": "device", "type": "TEXT"}],
        "removed": [{"name": "country_code", "type": "TEXT"}],
        "changed": [{"name": "account_age", "a": "NUMERIC", "b": "TEXT"}],
    }
    assert difference["digest"]["same"] is False
    assert difference["approval"] == {"a": "PendingManualApproval", "b": "Approved", "same": False}
    assert (difference["same"], difference["same_release"]) == (False, False)
    text = run("diff", f"{GROUP}/1", f"{GROUP}/2", *where).stdout
    assert "metadata  model_owner: 'my-team-id' -> 'risk-team'" in text
    assert (
        "schema    inputs: +device (TEXT), -country_code (TEXT), account_age NUMERIC -> TEXT"
        in text
    )
    itself = run("diff", f"{GROUP}/1", f"{GROUP}/1", *where)
    assert "no differences (the same release)" in itself.stdout


def test_list_filters(inventory: str, config: Path, tmp_path: Path) -> None:
    """--status, --owner, --domain, --since and --group combine."""
    a, b, c = models(tmp_path, "a", "b", "c")
    register(inventory, a, config, US)
    other = write_config(
        tmp_path / "o.yaml", model_owner="Risk-Team", model_registration_domain="Payments"
    )
    register(inventory, b, other, US)
    register(inventory, c, config, US)
    run("approve", f"{GROUP}/1", "--region", US, "--inventory", inventory)

    def versions(*filters: str) -> list[tuple[str, int]]:
        rows = run("list", "--inventory", inventory, "--region", US, *filters, "--json")
        return [(r["group"], r["version"]) for r in rows]

    assert versions("--status", "approved") == [(GROUP, 1)]
    assert versions("--status", "PendingManualApproval") == [
        (GROUP, 2),
        ("Payments-FraudDetection", 1),
    ]
    assert versions("--owner", "risk-team") == [("Payments-FraudDetection", 1)]
    assert versions("--domain", "payments", "--status", "pending") == [
        ("Payments-FraudDetection", 1)
    ]
    assert versions("--group", GROUP, "--owner", "my-team-id", "--since", "1h") == [
        (GROUP, 1),
        (GROUP, 2),
    ]
    assert versions("--since", "2999-01-01") == []
    bad = invoke("list", "--inventory", inventory, "--status", "maybe")
    assert bad.exit_code == 2
    assert "--status: 'maybe' is not an approval status" in bad.stderr
    bad_since = invoke("list", "--inventory", inventory, "--since", "yesterday")
    assert bad_since.exit_code == 2
    assert "--since: 'yesterday'" in bad_since.stderr
