"""Crashes: SIGKILL ``mimsreg register`` at random moments, re-run it, then check what held.

Run: ``make reliability-crash`` (or ``.venv/bin/python reliability/crash.py [--iterations 50]
[--seed N] [--size-mib 48] [--backends local,sagemaker]``). Writes the ``crash`` section of
docs/reliability.md and exits 1 when an invariant broke.

Per backend (the local SQLite inventory under a fresh ``MIMSREG_HOME``; SageMaker against a moto
server, our child on 127.0.0.1), three regions, in a fresh scratch folder:

1. calibration: two uninterrupted registrations, timed, of the two kinds the iterations use: a
   *new artifact* (a fresh random archive of ``--size-mib``, so staging, multipart upload and
   cross-region copies all happen) and *new metadata* (the same archive, another description, so
   the artifact is found in place and only a new version is made). Every fourth iteration (from
   the third) names a new model package group, so group creation is hit too;
2. each iteration starts ``mimsreg register`` (``_traced_register.py``: the real CLI writing a
   phase marker on stderr before each step), sends SIGKILL after a delay drawn uniformly (seeded
   RNG) over the calibrated duration of that kind, notes the last phase reached, then re-runs
   the same registration to completion (timed) and checks it exits 0 with every region
   ``created`` or ``unchanged``;
3. afterwards: no identity has two versions in a region and every identity has its version in
   every region; every version's artifact and payload exist and their SHA-256 matches the digest
   in their content-addressed key (and the artifact's the version's recorded digest); local:
   ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check``; orphans counted by
   ``mimsreg gc --dry-run --older-than 0`` (plus payload folders left in the run's TMPDIR),
   removed by ``mimsreg gc --older-than 0``, counted again, and checked directly (store walk for
   temporary files; S3 listing of incomplete multipart uploads and locks).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _aws import create_buckets, machine_facts, moto_server, use_fake_credentials  # noqa: E402
from reliability.local_checks import check_local_inventory, store_path  # noqa: E402
from tests.conftest import SEED_EXAMPLE  # noqa: E402
from tests.support.helpers import write_model_archive  # noqa: E402

TRACED = Path(__file__).resolve().parent / "_traced_register.py"
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
# A racing child (concurrency, approval races): import the CLI (the slow part), wait for the
# common start given as its first argument, then run the CLI with the rest.
CHILD = (
    "import sys, time\n"
    "from mimsreg.cli import cli\n"
    "time.sleep(max(0.0, float(sys.argv[1]) - time.time()))\n"
    "cli(args=sys.argv[2:], prog_name='mimsreg')\n"
)
BUCKET = "mimsreg-crash-{region}"
NEW_ARTIFACT, NEW_METADATA = "new-artifact", "new-metadata"
MIB = 1024 * 1024
# The create lock's lease in the SageMaker children (the product's is 30 s, and gc leaves a lock
# younger than twice that: a holder killed in the last minute would leave one the run cannot
# check). Short, and still three renewals long.
LEASE_SECONDS = 5.0


@dataclass(frozen=True)
class Run:
    """One ``mimsreg`` child: exit code (negative: the signal), wall seconds, its output."""

    returncode: int
    seconds: float
    stdout: str
    phases: list[tuple[float, str, str]]  # (seconds, region, phase) markers, in order

    @property
    def last_phase(self) -> str:
        return self.phases[-1][2] if self.phases else "startup"

    def region_phases(self) -> dict[str, str]:
        last: dict[str, str] = {}
        for _, region, phase in self.phases:
            if region != "-":
                last[region] = phase
        return last


@dataclass
class Iteration:
    number: int
    kind: str  # new-artifact | new-metadata
    group: str
    method: str  # "timer": SIGKILL after kill_after seconds; "marker": at the marker crash_at
    kill_after: float | None
    crash_at: str | None  # PHASE:N, the N-th marker of PHASE
    killed: bool  # False: the run finished before its kill
    phase: str  # the last phase the killed run reached ("finished" when it was not killed)
    region_phases: dict[str, str]
    rerun_seconds: float
    rerun_ok: bool
    rerun_statuses: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Verdict:
    """What held for one backend after every iteration."""

    backend: str
    versions: int = 0
    identities: int = 0
    duplicates: int = 0
    missing_versions: int = 0  # (identity, region) pairs registered but without a version
    without_artifact: int = 0  # artifact or payload absent, or its digest does not match
    integrity: str = "n/a"
    foreign_keys: str = "n/a"
    orphans_before: dict[str, int] = field(default_factory=dict)
    orphans_after: int = 0
    leftovers_after: dict[str, int] = field(default_factory=dict)  # checked without gc
    documents: str = "n/a"  # records, schemas and approval histories checked
    approvals: str = "n/a"  # concurrent approvals (reliability/concurrency.py)
    problems: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return not self.problems


def run_child(
    args: Sequence[str], env: dict[str, str], kill_after: float | None = None
) -> tuple[Run, bool]:
    """Run ``mimsreg ARGS`` (traced); SIGKILL it after ``kill_after`` seconds if still running.

    The flag says whether it died of SIGKILL (sent here, or by itself at ``MIMSREG_CRASH_AT``).
    """
    with tempfile.TemporaryFile() as stderr:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, str(TRACED), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        try:
            stdout, _ = process.communicate(timeout=kill_after)
        except subprocess.TimeoutExpired:
            process.kill()  # SIGKILL
            stdout, _ = process.communicate()
        killed = process.returncode == -signal.SIGKILL
        seconds = time.monotonic() - started
        stderr.seek(0)
        phases = []
        for line in stderr.read().decode(errors="replace").splitlines():
            if line.startswith("@@phase "):
                _, at, region, phase = line.split(" ", 3)
                phases.append((float(at), region, phase))
    return Run(process.returncode, seconds, stdout.decode(errors="replace"), phases), killed


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        for chunk in iter(lambda: reader.read(4 * MIB), b""):
            digest.update(chunk)
    return digest.hexdigest()


def key_digest(key: str) -> str:
    """The digest a content-addressed key names: ``.../sha256/<hex>/<file>``."""
    parts = key.split("/")
    return parts[parts.index("sha256") + 1]


Located = tuple[
    str, str, int, str, list[tuple[Any, Any]]
]  # region, group, version, identity, files


class Target:
    """One backend: how to run mimsreg against it and how to check it afterwards."""

    name = "?"

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.tmp = scratch / "tmp"  # the children's TMPDIR, to count what a kill leaves there
        self.tmp.mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        return {**os.environ, "TMPDIR": str(self.tmp)}

    def inventory_args(self) -> list[str]:
        return []

    def versions(self, verdict: Verdict) -> list[Located]:
        """Every version with its artifact and payload locations and recorded digests."""
        raise NotImplementedError

    def digest(self, location: Any) -> str | None:
        """SHA-256 of an artifact or payload, None when it is absent."""
        raise NotImplementedError

    def direct_leftovers(self) -> dict[str, int]:
        """Leftovers counted without mimsreg's help."""
        return {"temporary folders": len(list(self.tmp.glob("mimsreg-*")))}

    def stale_after(self) -> float:
        """Seconds after the last run before every leftover is gc's to remove (a lease)."""
        return 0.0


class LocalTarget(Target):
    name = "local"

    def __init__(self, scratch: Path) -> None:
        super().__init__(scratch)
        self.home = scratch / "home"

    def env(self) -> dict[str, str]:
        return {**super().env(), "MIMSREG_HOME": str(self.home)}

    def versions(self, verdict: Verdict) -> list[Located]:
        connection = sqlite3.connect(str(self.home / "inventory.db"))
        try:
            verdict.integrity = str(connection.execute("PRAGMA integrity_check").fetchone()[0])
            broken = connection.execute("PRAGMA foreign_key_check").fetchall()
            verdict.foreign_keys = "ok" if not broken else f"{len(broken)} row(s)"
            rows = connection.execute(
                "SELECT region, group_name, version, identity, sha256, artifact_uri, payload_uri "
                "FROM versions"
            ).fetchall()
        finally:
            connection.close()
        if verdict.integrity != "ok":
            verdict.problems.append(f"integrity_check: {verdict.integrity}")
        if verdict.foreign_keys != "ok":
            verdict.problems.append(f"foreign_key_check: {verdict.foreign_keys}")
        located: list[Located] = []
        for region, group, version, identity, sha256, artifact_uri, payload_uri in rows:
            files = [
                (store_path(self.home, uri), recorded)
                for uri, recorded in ((artifact_uri, sha256), (payload_uri, None))
                if uri
            ]
            located.append((region, group, int(version), identity, files))
        return located

    def digest(self, location: Any) -> str | None:
        return sha256_of(location) if Path(location).is_file() else None

    def direct_leftovers(self) -> dict[str, int]:
        temporary = len(list((self.home / "artifacts").rglob(".incoming-*")))
        return {**super().direct_leftovers(), "temporary files": temporary}


class SageMakerTarget(Target):
    name = "sagemaker"

    def __init__(self, scratch: Path, endpoint: str) -> None:
        super().__init__(scratch)
        self.endpoint = endpoint
        create_buckets(endpoint, list(REGIONS), BUCKET)

    def env(self) -> dict[str, str]:
        # The children's create lock leases for LEASE_SECONDS (gc's stale age: twice that, see
        # _traced_register.short_lease): a killed holder's lock can be waited out and collected.
        lease = {"MIMSREG_TEST_LEASE_SECONDS": str(LEASE_SECONDS)}
        return {**super().env(), "AWS_ENDPOINT_URL": self.endpoint, **lease}

    def inventory_args(self) -> list[str]:
        return ["--inventory", "sagemaker"]

    def stale_after(self) -> float:
        return 2 * LEASE_SECONDS + 1.0  # S3's times are whole seconds

    def _client(self, service: str, region: str) -> Any:
        import boto3

        return boto3.client(service, region_name=region, endpoint_url=self.endpoint)

    def versions(self, verdict: Verdict) -> list[Located]:
        located: list[Located] = []
        for region in REGIONS:
            sagemaker = self._client("sagemaker", region)
            groups = sagemaker.get_paginator("list_model_package_groups").paginate()
            for name in [
                g["ModelPackageGroupName"]
                for page in groups
                for g in page["ModelPackageGroupSummaryList"]
            ]:
                pages = sagemaker.get_paginator("list_model_packages").paginate(
                    ModelPackageGroupName=name
                )
                for summary in [s for page in pages for s in page["ModelPackageSummaryList"]]:
                    package = sagemaker.describe_model_package(
                        ModelPackageName=summary["ModelPackageArn"]
                    )
                    metadata = package.get("CustomerMetadataProperties") or {}
                    container = package["InferenceSpecification"]["Containers"][0]
                    files = [(container["ModelDataUrl"], metadata.get("mimsreg:sha256"))]
                    if package.get("SamplePayloadUrl"):
                        files.append((package["SamplePayloadUrl"], None))
                    version = int(package["ModelPackageVersion"])
                    located.append((region, name, version, metadata.get("mimsreg:identity"), files))
        return located

    def digest(self, location: Any) -> str | None:
        bucket, key = str(location)[len("s3://") :].split("/", 1)
        region = next(r for r in REGIONS if BUCKET.format(region=r) == bucket)
        try:
            body = self._client("s3", region).get_object(Bucket=bucket, Key=key)["Body"]
        except Exception:  # absent: the check counts it
            return None
        digest = hashlib.sha256()
        for chunk in iter(lambda: body.read(4 * MIB), b""):
            digest.update(chunk)
        return digest.hexdigest()

    def direct_leftovers(self) -> dict[str, int]:
        uploads = locks = 0
        for region in REGIONS:
            s3 = self._client("s3", region)
            bucket = BUCKET.format(region=region)
            uploads += len(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []))
            locks += s3.list_objects_v2(Bucket=bucket, Prefix="mimsreg/locks/")["KeyCount"]
        return {
            **super().direct_leftovers(),
            "incomplete multipart uploads": uploads,
            "lock objects": locks,
        }


def tally(
    verdict: Verdict,
    target: Target,
    located: list[Located],
    expected: set[tuple[str, str, int]],
) -> None:
    """Duplicate identities, registrations without their version, artifacts that do not verify.

    ``expected``: (region, group, version) of every registration a run reported done.
    """
    per_identity = collections.Counter((region, identity) for region, _, _, identity, _ in located)
    verdict.versions = len(located)
    verdict.identities = len({identity for _, _, _, identity, _ in located})
    verdict.duplicates = sum(count - 1 for count in per_identity.values() if count > 1)
    present = {(region, group, version) for region, group, version, _, _ in located}
    verdict.missing_versions = len(expected - present)
    digests: dict[str, str | None] = {}
    for region, group, version, _, files in located:
        for location, recorded in files:
            key = str(location)
            if key not in digests:
                digests[key] = target.digest(location)
            actual = digests[key]
            if actual is None or actual != key_digest(key) or (recorded and actual != recorded):
                verdict.without_artifact += 1
                verdict.problems.append(
                    f"{region} {group}/{version}: {key} is missing or does not verify"
                )
    if verdict.duplicates:
        verdict.problems.append(f"{verdict.duplicates} duplicate version(s)")
    if verdict.missing_versions:
        verdict.problems.append(f"{verdict.missing_versions} reported version(s) are absent")
    if verdict.versions != len(expected):
        verdict.problems.append(f"{verdict.versions} versions, {len(expected)} registered")


def config_file(folder: Path, iteration: int, group: str) -> Path:
    path = folder / f"config-{iteration}.json"
    settings = {
        **SEED_EXAMPLE,
        "bucket": BUCKET,
        "model_package_group_name": group,
        "model_package_description": f"crash test, iteration {iteration}",
    }
    path.write_text(json.dumps(settings))
    return path


def new_archive(folder: Path, rng: random.Random, size: int, number: int) -> Path:
    for old in folder.glob("model-*.tar.gz"):
        old.unlink()  # the inventory keeps its own copies; the scratch folder need not
    return write_model_archive(folder / f"model-{number}.tar.gz", rng.randbytes(size))


def results_of(run: Run) -> list[dict[str, Any]]:
    try:
        results = json.loads(run.stdout)
    except ValueError:
        return []
    return results if isinstance(results, list) else []


def killed_phase(run: Run, killed: bool, crash_at: str | None) -> str:
    """Where the kill landed: the drawn marker's phase (other regions' threads may have written
    a marker after it), else the last marker written; ``finished`` when nothing was killed."""
    if not killed:
        return "finished"
    if crash_at is not None:
        return crash_at.split(":", 1)[0]
    return run.last_phase


def crash_backend(
    target: Target,
    iterations: int,
    seed: int,
    size: int,
    regions: Sequence[str] = REGIONS,
    log: Callable[[str], None] = print,
) -> tuple[list[Iteration], Verdict]:
    """The kill / re-run loop on one backend, then the checks (see the module docstring)."""
    rng = random.Random(f"{seed}:{target.name}")
    work = target.scratch / "work"
    work.mkdir(parents=True, exist_ok=True)
    env = target.env()
    expected: set[tuple[str, str, int]] = set()
    extra = ["--region", ",".join(regions), *target.inventory_args(), "--json"]

    def register(
        model: Path, config: Path, kill_after: float | None = None, crash_at: str | None = None
    ) -> tuple[Run, bool]:
        child_env = {**env, "MIMSREG_CRASH_AT": crash_at} if crash_at else env
        run, killed = run_child(
            ["register", str(model), "--config", str(config), *extra], child_env, kill_after
        )
        for result in results_of(run):
            if result.get("status") in ("created", "unchanged"):
                expected.add((str(result["region"]), str(result["group"]), int(result["version"])))
        return run, killed

    model = new_archive(work, rng, size, -1)
    calibration: dict[str, float] = {}
    markers: dict[str, collections.Counter[str]] = {}  # kind → phase → markers in a whole run
    for number, kind in ((-2, NEW_ARTIFACT), (-1, NEW_METADATA)):
        run, _ = register(model, config_file(work, number, "crash-calibration"))
        if run.returncode != 0:
            raise RuntimeError(f"calibration run failed ({run.returncode}): {run.stdout}")
        calibration[kind] = run.seconds
        markers[kind] = collections.Counter(phase for _, _, phase in run.phases)
    log(f"{target.name}: uninterrupted run, seconds: {calibration}; markers: {markers}")

    done: list[Iteration] = []
    for number in range(iterations):
        kind = NEW_ARTIFACT if number % 2 == 0 else NEW_METADATA
        if kind == NEW_ARTIFACT:
            model = new_archive(work, rng, size, number)
        # A new group at iterations 2, 6, 10...: new artifacts killed at a marker, so the drawn
        # marker may be the group's creation.
        group = f"crash-model-{(number + 2) // 4:02d}"
        config = config_file(work, number, group)
        # Alternately by kind: a timer over the whole run (phases hit as often as they last), or
        # a marker drawn from the phases of a whole run (short phases hit as often as long ones).
        method = "timer" if (number // 2) % 2 == 0 else "marker"
        kill_after: float | None = None
        crash_at: str | None = None
        if method == "timer":
            kill_after = rng.uniform(0.0, calibration[kind])
        else:
            phase = rng.choice(sorted(markers[kind]))
            crash_at = f"{phase}:{rng.randint(1, markers[kind][phase])}"
        killed_run, killed = register(model, config, kill_after, crash_at)
        rerun, _ = register(model, config)
        statuses = [str(result.get("status")) for result in results_of(rerun)]
        ok = rerun.returncode == 0 and len(statuses) == len(regions)
        ok = ok and all(status in ("created", "unchanged") for status in statuses)
        iteration = Iteration(
            number=number,
            kind=kind,
            group=group,
            method=method,
            kill_after=None if kill_after is None else round(kill_after, 3),
            crash_at=crash_at,
            killed=killed,
            phase=killed_phase(killed_run, killed, crash_at),
            region_phases=killed_run.region_phases(),
            rerun_seconds=round(rerun.seconds, 3),
            rerun_ok=ok,
            rerun_statuses=statuses,
        )
        done.append(iteration)
        outcome = "ok" if ok else f"FAILED ({rerun.returncode}) {rerun.stdout[-300:]}"
        when = f"at {kill_after:5.2f}s" if kill_after is not None else f"at {crash_at}"
        log(
            f"{target.name} #{number:02d} {kind:12} kill {when:24}: "
            f"{'killed in ' + iteration.phase if killed else 'finished first':28} "
            f"re-run {rerun.seconds:5.2f}s {statuses} {outcome}"
        )
    return done, check(target, done, expected, env)


def gc(target: Target, env: dict[str, str], *flags: str) -> list[dict[str, Any]]:
    args = ["gc", *target.inventory_args(), "--older-than", "0", "--json", *flags]
    if target.name == "sagemaker":
        args += ["--region", ",".join(REGIONS), "--bucket", BUCKET]
    run, _ = run_child(args, env)
    if run.returncode != 0:
        raise RuntimeError(f"mimsreg gc failed ({run.returncode}): {run.stdout}")
    items: list[dict[str, Any]] = json.loads(run.stdout)
    return items


def check(
    target: Target, done: list[Iteration], expected: set[tuple[str, str, int]], env: dict[str, str]
) -> Verdict:
    verdict = Verdict(target.name)
    tally(verdict, target, target.versions(verdict), expected)
    failed = [i.number for i in done if not i.rerun_ok]
    if failed:
        verdict.problems.append(f"re-runs failed in iterations {failed}")
    time.sleep(target.stale_after())  # a lease of a holder killed last runs out meanwhile
    before = collections.Counter(item["kind"] for item in gc(target, env, "--dry-run"))
    verdict.orphans_before = dict(sorted(before.items()))
    removed = gc(target, env)
    if not all(item["removed"] for item in removed):
        verdict.problems.append("gc did not remove everything it listed")
    verdict.orphans_after = len(gc(target, env, "--dry-run"))
    verdict.leftovers_after = target.direct_leftovers()
    if verdict.orphans_after or any(verdict.leftovers_after.values()):
        verdict.problems.append(
            f"after gc: {verdict.orphans_after} orphan(s), {verdict.leftovers_after}"
        )
    # The versions must all still verify once gc has run.
    after = Verdict(target.name)
    tally(after, target, target.versions(after), expected)
    verdict.problems.extend(f"after gc: {problem}" for problem in after.problems)
    check_local_documents(target, verdict)
    check_sagemaker_documents(target, verdict)
    return verdict


def check_local_documents(target: Target, verdict: Verdict) -> None:
    """Local: every version's record, variable schema and approval history, besides its bytes
    (``reliability/local_checks.py``)."""
    if not isinstance(target, LocalTarget):
        return
    found = check_local_inventory(target.home)
    verdict.documents = f"{found.versions} records and schemas, {found.events} approval events"
    verdict.problems.extend(f"documents: {problem}" for problem in found.problems)


def check_sagemaker_documents(target: Target, verdict: Verdict) -> None:
    """SageMaker: every version's record, variable schema and approval history in S3, besides
    its bytes (``reliability/sagemaker_checks.py``)."""
    if not isinstance(target, SageMakerTarget):
        return
    from reliability.sagemaker_checks import check_sagemaker_documents as check_documents

    found = check_documents(target)
    verdict.documents = found.line()
    verdict.problems.extend(f"documents: {problem}" for problem in found.problems)


PHASE_ORDER = [
    "startup",
    "config",
    "payload",
    "inspect",
    "lookup",
    "stage-check",
    "upload",
    "cross-region-copy",
    "documents",
    "group",
    "create-lock",
    "store-copy",
    "db-transaction",
    "db-commit",
    "db-committed",
    "version-create",
    "version-created",
    "exit",
    "finished",
]


def phase_counts(done: list[Iteration]) -> str:
    counts = collections.Counter(i.phase for i in done)
    ordered = sorted(counts, key=lambda p: PHASE_ORDER.index(p) if p in PHASE_ORDER else 99)
    return ", ".join(f"{phase} {counts[phase]}" for phase in ordered)


METHOD = """
Per backend: {iterations} iterations in {regions[0]}, {regions[1]} and {regions[2]}, each a
`mimsreg register` SIGKILLed, then re-run to completion. Half the kills come from a timer drawn
uniformly over the duration of an uninterrupted run of the same kind (phases are hit as often as
they last); the other half at a marker drawn from those an uninterrupted run writes, phase first,
then which occurrence (the process SIGKILLs itself there, so a commit or the moment after
CreateModelPackage is hit as often as an upload). Even iterations register a new {size} MiB
random archive (upload in 16 MiB parts, cross-region copies), odd ones the same archive with
another description (a new version, artifact found in place); every fourth (from the third) a
new model package group. The phase of a timer kill is the last marker the killed process wrote
(`reliability/_traced_register.py`), of a marker kill the drawn one; `finished`: the run
completed before its kill (or never reached the drawn marker). Orphans are counted by `mimsreg
gc --dry-run --older-than 0`, removed by `mimsreg gc --older-than 0`, counted again by gc and by
listing the store, the buckets and TMPDIR directly. SageMaker: the children's create lock
leases for {lease:g} s (the product's: 30 s), and the checks start {stale:g} s after the last
run, so that the lock of a holder killed at the end is stale for gc and its removal is checked;
every version's record, schema and approval history in S3 is read back too.
"""

CLEANUP = """
The documented cleanup command is `mimsreg gc [--inventory URI] [--region R ...] [--bucket B]
[--older-than 24h] [--dry-run] [--json]` (README, Commands): temporary and unreferenced files of
the local store; in S3 unreferenced staged artifacts and documents, expired `mimsreg/locks/`
objects, incomplete multipart uploads; this user's `mimsreg-payload-*`/`mimsreg-check-*`
temporary folders. Nothing younger than `--older-than` is touched, so a registration in flight
is never broken.
"""

# What each kind of orphan is, for the findings (named, and removed by mimsreg gc).
ORPHAN_NOTES = {
    "temporary-file": "`.incoming-*` copies a kill interrupted in the local store (up to the "
    "artifact's size each; the re-run writes its own)",
    "temporary-folder": "`mimsreg-payload-*` folders of killed processes in TMPDIR (a few KB "
    "each); found by the first runs, now removed by `mimsreg gc` too",
    "incomplete-upload": "multipart uploads a kill interrupted (S3 bills their parts until they "
    "are aborted; a bucket lifecycle rule AbortIncompleteMultipartUpload does the same)",
    "unreferenced-artifact": "staged artifacts no version references",
    "unreferenced-document": "record/schema/approval documents of identities without a version",
    "stale-lock": "create locks of killed holders",
}


def report(
    runs: dict[str, tuple[list[Iteration], Verdict]], seed: int, size: int, iterations: int
) -> str:
    lines = [
        f"`make reliability-crash` (`reliability/crash.py --iterations {iterations} --seed "
        f"{seed} --size-mib {size // MIB}`). {machine_facts()}.",
        "",
        " ".join(
            METHOD.format(
                iterations=iterations,
                size=size // MIB,
                regions=REGIONS,
                lease=LEASE_SECONDS,
                stale=2 * LEASE_SECONDS + 1.0,
            ).split()
        ),
        "",
        " ".join(CLEANUP.split()),
        "",
        "| backend | SIGKILLs (timer + marker) | phases hit | re-runs ok | duplicates "
        "| versions without artifact "
        "| versions (all verified) | integrity_check / foreign_key_check | orphans before gc "
        "| orphans after gc | held |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, (done, verdict) in runs.items():
        timer = sum(i.killed for i in done if i.method == "timer")
        marker = sum(i.killed for i in done if i.method == "marker")
        ok = sum(i.rerun_ok for i in done)
        before = ", ".join(f"{k} {v}" for k, v in verdict.orphans_before.items()) or "none"
        after = verdict.orphans_after + sum(verdict.leftovers_after.values())
        direct = ", ".join(f"{k} {v}" for k, v in verdict.leftovers_after.items())
        lines.append(
            f"| {name} | {timer + marker} of {len(done)} ({timer} + {marker}) "
            f"| {phase_counts(done)} | {ok}/{len(done)} "
            f"| {verdict.duplicates} | {verdict.without_artifact} | {verdict.versions} "
            f"| {verdict.integrity} / {verdict.foreign_keys} | {before} | {after} ({direct}) "
            f"| {'yes' if verdict.held else 'NO'} |"
        )
    lines += [
        "",
        "| backend | phase | kills | median re-run s | max re-run s |",
        "|---|---|---|---|---|",
    ]
    for name, (done, _) in runs.items():
        by_phase: dict[str, list[float]] = collections.defaultdict(list)
        for iteration in done:
            by_phase[iteration.phase].append(iteration.rerun_seconds)
        for phase in sorted(
            by_phase, key=lambda p: PHASE_ORDER.index(p) if p in PHASE_ORDER else 99
        ):
            seconds = by_phase[phase]
            lines.append(
                f"| {name} | {phase} | {len(seconds)} | {statistics.median(seconds):.2f} "
                f"| {max(seconds):.2f} |"
            )
    lines += ["", "Records, variable schemas and approval histories read back after gc:", ""]
    lines += [f"- {name}: {verdict.documents}." for name, (_, verdict) in runs.items()]
    lines += ["", "Findings:", ""]
    for name, (_, verdict) in runs.items():
        for problem in verdict.problems:
            lines.append(f"- {name}: FAILED: {problem}")
        for kind, count in verdict.orphans_before.items():
            lines.append(f"- {name}: {count} {ORPHAN_NOTES.get(kind, kind)}: removed by gc.")
    if lines[-1] == "":
        lines.append("- none.")
    return "\n".join(lines)


def summary(
    runs: dict[str, tuple[list[Iteration], Verdict]], regions: int
) -> tuple[str, str, bool]:
    """The crash row of the summary table: what was run, what held, whether everything did."""
    counts = "; ".join(
        f"{name}: {sum(i.killed for i in done)} SIGKILLs landed of {len(done)}, "
        f"{sum(i.rerun_ok for i in done)} re-runs ok, {verdict.versions} versions checked"
        for name, (done, verdict) in runs.items()
    )
    invariants = (
        f"{regions} regions; 0 duplicate versions, 0 versions without artifact, every digest "
        "verified, SQLite integrity_check ok, orphans 0 after `mimsreg gc`"
    )
    held = all(verdict.held for _, verdict in runs.values())
    return counts, invariants if held else "see the crash section", held


@contextmanager
def scratch_folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="mimsreg-crash-") as folder:
        yield Path(folder)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--seed", type=int, default=None, help="default: a random one, recorded")
    parser.add_argument("--size-mib", type=int, default=48)
    parser.add_argument("--backends", default="local,sagemaker")
    parser.add_argument("--no-report", action="store_true", help="do not touch docs/")
    parser.add_argument("--json", type=Path, default=None, help="write every iteration here")
    options = parser.parse_args(argv)
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(10**6)
    size = options.size_mib * MIB
    use_fake_credentials()
    runs: dict[str, tuple[list[Iteration], Verdict]] = {}
    print(f"seed {seed}", flush=True)
    with scratch_folder() as scratch:
        for backend in options.backends.split(","):
            if backend == "local":
                runs[backend] = crash_backend(
                    LocalTarget(scratch / backend), options.iterations, seed, size
                )
            else:
                with moto_server() as server:
                    runs[backend] = crash_backend(
                        SageMakerTarget(scratch / backend, server.url),
                        options.iterations,
                        seed,
                        size,
                    )
    body = report(runs, seed, size, options.iterations)
    print(body)
    if options.json is not None:
        options.json.write_text(
            json.dumps(
                {
                    name: {
                        "iterations": [i.to_dict() for i in done],
                        "verdict": verdict.__dict__,
                    }
                    for name, (done, verdict) in runs.items()
                },
                indent=2,
            )
        )
    if not options.no_report:
        from reliability._report import update_section, update_summary_row

        update_section("crash", "Crashes: SIGKILL during `mimsreg register`", body)
        update_summary_row("crash", "make reliability-crash", *summary(runs, len(REGIONS)))
    return 0 if all(verdict.held for _, verdict in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
