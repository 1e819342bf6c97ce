"""Smoke runs of the SageMaker parts of the reliability suite (the full runs: `make
reliability-modified`, `reliability-crash`, `reliability-concurrency`), and that their checks
can fail."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import boto3
import pytest
from reliability.crash import (
    BUCKET,
    MIB,
    REGIONS,
    Iteration,
    SageMakerTarget,
    check,
    config_file,
    new_archive,
    results_of,
    run_child,
)
from reliability.modified_archive import REFUSED, REGISTERED, run_iterations
from reliability.sagemaker_checks import (
    check_sagemaker_documents,
    content_objects,
    packages,
    sagemaker_approval_race,
    through_strict_layer,
)

pytestmark = pytest.mark.usefixtures("aws")


def test_a_lock_left_by_a_holder_killed_last_is_collected_and_checked(
    tmp_path: Path, moto_server: str
) -> None:
    """SIGKILLed right after its first CreateModelPackage, holding the lease: the re-run finds
    that version (no takeover, the lock stays). With the product's 30 s lease gc would leave a
    lock that young, so the crash run's children lease for 5 s and its checks start once such a
    lock is stale: gc removes it, and nothing is left."""
    target = SageMakerTarget(tmp_path, moto_server)
    work = tmp_path / "work"
    work.mkdir()
    model = new_archive(work, random.Random(1), MIB, 0)
    args = ["register", str(model), "--config", str(config_file(work, 0, "crash-model-00"))]
    args += ["--region", ",".join(REGIONS), *target.inventory_args(), "--json"]
    env = target.env()
    _, killed = run_child(args, {**env, "MIMSREG_CRASH_AT": "version-created:1"})
    rerun, _ = run_child(args, env)
    assert killed
    statuses = [str(r["status"]) for r in results_of(rerun)]
    assert rerun.returncode == 0, rerun.stdout
    assert "unchanged" in statuses
    assert rerun.seconds < 25  # a 30 s lease would have been waited out by the other regions
    expected = {(str(r["region"]), str(r["group"]), int(r["version"])) for r in results_of(rerun)}
    done = [
        Iteration(
            *(0, "new-artifact", "crash-model-00", "marker", None, "version-created:1", killed),
            *("version-created", {}, rerun.seconds, True, statuses),
        )
    ]
    verdict = check(target, done, expected, env)
    assert verdict.problems == []
    # One lock per region the killed holder was inside when it died: the regions run in
    # parallel, so that is 1 to 3 depending on timing; every one of them is collected.
    assert 1 <= verdict.orphans_before.get("stale-lock", 0) <= len(REGIONS)
    assert verdict.leftovers_after["lock objects"] == 0
    assert verdict.documents.startswith(f"{len(REGIONS)} records, schemas and approval histories")


def test_archives_changed_during_registration_are_registered_as_inspected_or_refused(
    tmp_path: Path, moto_server: str
) -> None:
    """Two iterations of reliability/modified_archive.py (a timer, then a marker), 17 MiB
    archives (two parts), three regions: every check holds."""
    target = SageMakerTarget(tmp_path, moto_server)
    summary = run_iterations(target, 2, seed=5, size=17 * MIB, log=str)
    assert summary.problems == []
    assert {item.outcome for item in summary.done} <= {REGISTERED, REFUSED}
    assert all(item.reruns_ok for item in summary.done)
    assert summary.objects > 0
    assert summary.uploads_left == 0


def test_content_objects_finds_an_object_claiming_a_digest_it_lacks(
    tmp_path: Path, moto_server: str
) -> None:
    target = SageMakerTarget(tmp_path, moto_server)
    key = f"mimsreg/artifacts/sha256/{'0' * 64}/model.tar.gz"
    s3 = boto3.client("s3", region_name=REGIONS[0], endpoint_url=moto_server)
    s3.put_object(Bucket=BUCKET.format(region=REGIONS[0]), Key=key, Body=b"other bytes")
    count, problems = content_objects(target)
    assert count == 1
    assert len(problems) == 1
    assert key in problems[0]


def test_concurrent_sagemaker_approvals_keep_every_decision(
    tmp_path: Path, moto_server: str
) -> None:
    """Four `mimsreg approve` processes at once on one version: all four kept, the status and
    description the last event's; then the documents check finds a history that disagrees."""
    with through_strict_layer(SageMakerTarget(tmp_path, moto_server)) as target:
        outcome = sagemaker_approval_race(target, 0, 4, random.Random(3))
        assert outcome.problems == []
        assert (outcome.events, dict(outcome.exit_codes)) == (4, {0: 4})
        assert check_sagemaker_documents(target).problems == []
        [(region, _, package)] = list(packages(target))
        problems = wrong_last_event(target, region, package)
    assert len(problems) == 1
    assert "is not the last event's" in problems[0]


def wrong_last_event(target: SageMakerTarget, region: str, package: dict[str, Any]) -> list[str]:
    """Append an event whose status is not the package's: the documents check must say so."""
    record = package["CustomerMetadataProperties"]["mimsreg:record"]
    bucket, key = record[len("s3://") :].split("/", 1)
    s3 = boto3.client("s3", region_name=region, endpoint_url=target.endpoint)
    key = key.replace("/records/", "/approvals/")
    history = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    wrong = "Rejected" if package["ModelApprovalStatus"] == "Approved" else "Approved"
    history.append({**history[-1], "status": wrong})
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(history))
    return check_sagemaker_documents(target).problems
