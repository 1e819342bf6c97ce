"""SageMaker: what the reliability runs read back besides versions and bytes, and the concurrent
approvals run.

- :func:`check_sagemaker_documents`: every version's record, variable schema and approval history
  documents in S3, read directly (boto3 on moto, not through mimsreg): the record names the
  version's identity and digest, the schema is the record's, the history is a list of events
  in time order that starts with the registration and ends with the package's status;
- :func:`content_objects`: every object under ``mimsreg/artifacts/sha256/<digest>/`` hashes to
  that digest (none claims a digest it does not have, referenced by a version or not);
- :func:`sagemaker_approval_race`: ``processes`` ``mimsreg approve`` / ``approve --reject``
  processes on one version at the same instant; the history in S3 must keep every event once, in
  order, and SageMaker's status and description must be the last event's. Run
  :func:`through_strict_layer`: moto's conditional writes are not atomic and its
  UpdateModelPackage drops fields AWS keeps (the record's URI among them); the strict AWS layer
  of the tests (``tests/support/strict_aws.py``) judges the one and restores the other.
"""

from __future__ import annotations

import collections
import copy
import hashlib
import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from reliability.crash import BUCKET, CHILD, MIB, REGIONS, SageMakerTarget, config_file
from tests.support.helpers import write_model_archive

STATUSES = ("Approved", "Rejected", "PendingManualApproval")


@dataclass
class DocumentCheck:
    """What the documents of every version showed."""

    versions: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.versions} records, schemas and approval histories, {self.events} approval "
            f"events, {len(self.problems)} problem(s)"
        )


def packages(target: SageMakerTarget) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(region, group, DescribeModelPackage answer) of every version in every region."""
    for region in REGIONS:
        sagemaker = target._client("sagemaker", region)
        pages = sagemaker.get_paginator("list_model_package_groups").paginate()
        for group in [
            g["ModelPackageGroupName"] for p in pages for g in p["ModelPackageGroupSummaryList"]
        ]:
            listed = sagemaker.get_paginator("list_model_packages").paginate(
                ModelPackageGroupName=group
            )
            for summary in [s for page in listed for s in page["ModelPackageSummaryList"]]:
                arn = summary["ModelPackageArn"]
                yield region, group, sagemaker.describe_model_package(ModelPackageName=arn)


def read_json(target: SageMakerTarget, region: str, uri: Any) -> tuple[Any, str | None]:
    """(document, None), or (None, why not)."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        return None, f"no S3 URI ({uri!r})"
    bucket, key = uri[len("s3://") :].split("/", 1)
    try:
        body = target._client("s3", region).get_object(Bucket=bucket, Key=key)["Body"].read()
        return json.loads(body), None
    except Exception as exc:  # absent or not JSON: the check names it
        return None, f"{uri}: {type(exc).__name__}: {exc}"


def check_history(events: Any, status: str, where: str, found: DocumentCheck) -> None:
    """A list of events in time order, starting with the registration (or a promotion) and
    ending with ``status``."""
    if not isinstance(events, list) or not events:
        found.problems.append(f"{where}: the approval history is {events!r}, not a list of events")
        return
    found.events += len(events)
    if any(
        not isinstance(e, dict) or e.get("status") not in STATUSES or not e.get("actor")
        for e in events
    ):
        found.problems.append(f"{where}: an event without a known status or an actor: {events}")
        return
    notes = [str(e.get("note")) for e in events]
    if notes[0] != "registered" and not any(n.startswith("promoted from") for n in notes):
        found.problems.append(f"{where}: the history does not start with the registration")
    times = [str(e.get("at")) for e in events]
    if times != sorted(times):
        found.problems.append(f"{where}: events out of time order: {times}")
    if events[-1]["status"] != status:
        found.problems.append(
            f"{where}: status {status!r} is not the last event's {events[-1]['status']!r}"
        )


def check_sagemaker_documents(target: SageMakerTarget) -> DocumentCheck:
    """Every version's record, variable schema and approval history (module docstring)."""
    found = DocumentCheck()
    for region, group, package in packages(target):
        where = f"{region} {group}/{package['ModelPackageVersion']}"
        metadata = package.get("CustomerMetadataProperties") or {}
        found.versions += 1
        record, why = read_json(target, region, metadata.get("mimsreg:record"))
        if not isinstance(record, dict):
            found.problems.append(f"{where}: record: {why or 'not an object'}")
            continue
        if record.get("identity") != metadata.get("mimsreg:identity"):
            found.problems.append(f"{where}: the record is of identity {record.get('identity')}")
        if (record.get("artifact") or {}).get("sha256") != metadata.get("mimsreg:sha256"):
            found.problems.append(f"{where}: the record's artifact digest is not the version's")
        schema, why = read_json(target, region, metadata.get("mimsreg:schema"))
        if schema != record.get("variable_schema"):
            found.problems.append(f"{where}: schema: {why or 'not the record variable_schema'}")
        history_uri = str(metadata.get("mimsreg:record")).replace("/records/", "/approvals/")
        events, why = read_json(target, region, history_uri)
        if why is not None:
            found.problems.append(f"{where}: approval history: {why}")
            continue
        check_history(events, str(package.get("ModelApprovalStatus")), where, found)
    return found


def content_objects(target: SageMakerTarget) -> tuple[int, list[str]]:
    """(objects read, problems): every object under a content key must hash to its digest."""
    count, problems = 0, []
    for region in REGIONS:
        s3 = target._client("s3", region)
        bucket = BUCKET.format(region=region)
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix="mimsreg/artifacts/sha256/"
        )
        for item in [item for page in pages for item in page.get("Contents", [])]:
            claimed = item["Key"].split("/")[3]
            digest = hashlib.sha256()
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"]
            for chunk in iter(lambda body=body: body.read(4 * MIB), b""):
                digest.update(chunk)
            count += 1
            if digest.hexdigest() != claimed:
                problems.append(
                    f"s3://{bucket}/{item['Key']} holds bytes of sha256 {digest.hexdigest()}"
                )
    return count, problems


@contextmanager
def through_strict_layer(target: SageMakerTarget) -> Iterator[SageMakerTarget]:
    """The target, its children and reads going through the tests' strict AWS layer, in front
    of the same moto server, until the block ends."""
    from tests.support.strict_aws import strict_aws_proxy

    with strict_aws_proxy(target.endpoint) as server:
        strict = copy.copy(target)
        strict.endpoint = server.url
        yield strict


@dataclass
class ApprovalRace:
    number: int
    processes: int
    exit_codes: collections.Counter[int] = field(default_factory=collections.Counter)
    events: int = 0  # events of the race kept in the history
    problems: list[str] = field(default_factory=list)


def _cli(target: SageMakerTarget, *args: str, start: float = 0.0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(start), *args, *target.inventory_args()],
        env=target.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def sagemaker_approval_race(
    target: SageMakerTarget, number: int, processes: int, rng: random.Random
) -> ApprovalRace:
    """Register a fresh version in one region, then ``processes`` decisions on it at once; read
    the history from S3 and the status from SageMaker directly."""
    outcome = ApprovalRace(number, processes)
    work = target.scratch / "work" / f"approvals-{number}"
    work.mkdir(parents=True)
    group, region = f"approval-race-{number}", REGIONS[0]
    model = write_model_archive(work / "model.tar.gz", rng.randbytes(64 * 1024))
    config = str(config_file(work, number, group))
    stdout, stderr = _cli(
        target, "register", str(model), "--config", config, "--region", region, "--json"
    ).communicate(timeout=600)
    try:
        reference = f"{group}/{json.loads(stdout)[0]['version']}"
    except (ValueError, LookupError):
        outcome.problems.append(f"register failed: {(stdout + stderr)[-300:]}")
        return outcome
    decisions = {f"race {number} process {i}": rng.random() < 0.5 for i in range(processes)}
    start = time.time() + 4.0  # every child has imported mimsreg by then, even on a busy box
    children = [
        _cli(
            target,
            *("approve", reference, "--region", region, "--note", note, "--actor", f"actor-{i}"),
            *(["--reject"] if reject else []),
            start=start,
        )
        for i, (note, reject) in enumerate(decisions.items())
    ]
    for child in children:
        _, stderr = child.communicate(timeout=600)
        outcome.exit_codes[child.returncode] += 1
        if child.returncode != 0:
            outcome.problems.append(f"approve exited {child.returncode}: {stderr[-300:]}")
    judge_race(target, region, group, decisions, outcome)
    return outcome


def judge_race(
    target: SageMakerTarget,
    region: str,
    group: str,
    decisions: dict[str, bool],
    outcome: ApprovalRace,
) -> None:
    """Every decision kept once with its status, in time order; the package's status and
    description the last event's."""
    [(_, _, package)] = [p for p in packages(target) if p[0] == region and p[1] == group]
    record_uri = str(package["CustomerMetadataProperties"]["mimsreg:record"])
    events, why = read_json(target, region, record_uri.replace("/records/", "/approvals/"))
    if not isinstance(events, list):
        outcome.problems.append(f"approval history: {why or events!r}")
        return
    raced = [e for e in events if e.get("note") in decisions]
    outcome.events = len(raced)
    kept = collections.Counter(e["note"] for e in raced)
    if set(kept) != set(decisions):
        outcome.problems.append(f"{len(set(decisions) - set(kept))} decision(s) lost")
    if any(count > 1 for count in kept.values()):
        outcome.problems.append("a decision recorded twice")
    for event in raced:
        if event["status"] != ("Rejected" if decisions[event["note"]] else "Approved"):
            outcome.problems.append(f"{event['note']}: status {event['status']!r}")
    found = DocumentCheck()
    check_history(events, str(package.get("ModelApprovalStatus")), f"{region} {group}", found)
    outcome.problems.extend(found.problems)
    last = events[-1]
    description = f"{last.get('note')} (by {last.get('actor')})"
    if package.get("ApprovalDescription") != description:
        outcome.problems.append(
            f"description {package.get('ApprovalDescription')!r} is not the last event's"
        )


def approvals_line(races: list[ApprovalRace]) -> str:
    """One line for a report."""
    if not races:
        return "not run"
    exits: collections.Counter[int] = collections.Counter()
    for race in races:
        exits.update(race.exit_codes)
    problems = sum(len(race.problems) for race in races)
    return (
        f"{len(races)} races of {races[0].processes} processes approving or rejecting one "
        f"version at once: exit codes {dict(sorted(exits.items()))}, "
        f"{sum(r.events for r in races)} of {sum(r.processes for r in races)} decisions kept, "
        f"{problems} problem(s) (lost, doubled or out-of-order events, a status or description "
        "other than the last event's)"
    )
