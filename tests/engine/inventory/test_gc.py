"""`mimsreg gc`: the pure decisions, then the local store and S3 (moto) through the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest

from mimsreg.engine.execute import execute_plan
from mimsreg.engine.inventory.gc import (
    INCOMPLETE_UPLOAD,
    STALE_LOCK,
    TEMPORARY_FILE,
    TEMPORARY_FOLDER,
    UNREFERENCED_ARTIFACT,
    UNREFERENCED_DOCUMENT,
    PendingUpload,
    StoredObject,
    in_flight_keys,
    in_flight_records,
    parse_duration,
    select_garbage,
    select_uploads,
)
from mimsreg.engine.inventory.local import LocalInventory, default_home
from mimsreg.engine.inventory.sagemaker import SageMakerInventory
from mimsreg.engine.workdirs import in_use, working_folder
from mimsreg.errors import BadInputError
from tests.conftest import EXAMPLE_CONFIG, TEST_BUCKET
from tests.support.cli import invoke
from tests.support.helpers import make_plan, write_model_archive

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=timezone.utc)
HOUR = 3600.0


@pytest.fixture(autouse=True)
def system_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """gc also cleans the system's temporary folder: here, a private one."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def entry(key: str, age_seconds: float) -> StoredObject:
    return StoredObject(key, f"store/{key}", 10, NOW - timedelta(seconds=age_seconds), "r")


# --- the decisions ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0.0), ("90", 90.0), ("30s", 30.0), ("15m", 900.0), ("24h", 86400.0), ("1.5d", 129600.0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5m", "5w", "1h30m"])
def test_bad_durations_are_bad_input(text: str) -> None:
    with pytest.raises(BadInputError, match="--older-than"):
        parse_duration(text)


def test_select_garbage_keeps_what_versions_use_and_anything_young() -> None:
    """Each kind is chosen only when unreferenced (where that applies) and old enough."""
    entries = [
        entry("artifacts/sha256/aa/model.tar.gz", 2 * HOUR),  # referenced: kept
        entry("artifacts/sha256/bb/model.tar.gz", 2 * HOUR),  # unreferenced, old
        entry("artifacts/sha256/cc/model.tar.gz", 60),  # unreferenced, young: kept
        entry("artifacts/sha256/dd/.incoming-x1", 2 * HOUR),
        entry("artifacts/sha256/dd/.incoming-x2", 60),  # a copy in flight: kept
        entry("records/id1.json", 2 * HOUR),  # its identity has a version: kept
        entry("schemas/id2.json", 2 * HOUR),
        entry("approvals/id2.json", 2 * HOUR),
        entry("records/notes.txt", 2 * HOUR),  # not ours: kept
        entry("locks/abc", 2 * HOUR),
        entry("locks/def", 60),  # a live lease: kept
        entry("inventory.db", 2 * HOUR),  # not under a managed prefix: kept
    ]
    chosen = select_garbage(
        entries, {"artifacts/sha256/aa/model.tar.gz"}, {"id1"}, NOW, older_than=HOUR
    )
    assert [(g.kind, g.location) for g in chosen] == [
        (STALE_LOCK, "store/locks/abc"),
        (TEMPORARY_FILE, "store/artifacts/sha256/dd/.incoming-x1"),
        (UNREFERENCED_ARTIFACT, "store/artifacts/sha256/bb/model.tar.gz"),
        (UNREFERENCED_DOCUMENT, "store/approvals/id2.json"),
        (UNREFERENCED_DOCUMENT, "store/schemas/id2.json"),
    ]
    assert all(g.age_seconds == 2 * HOUR and not g.removed for g in chosen)
    # --older-than 0 removes an expired lock, never one younger than twice the lease
    locks = [entry("locks/old", 61), entry("locks/live", 20)]
    assert [g.location for g in select_garbage(locks, (), (), NOW, 0)] == ["store/locks/old"]


def test_young_records_of_identities_without_a_version_name_the_artifacts_in_use() -> None:
    """A registration in flight has written its record; what it names must stay."""
    entries = [
        entry("records/inflight.json", 60),
        entry("records/abandoned.json", 2 * HOUR),
        entry("records/done.json", 60),
        entry("schemas/inflight.json", 60),
    ]
    young = in_flight_records(entries, {"done"}, NOW, HOUR)
    assert [e.key for e in young] == ["records/inflight.json"]
    record = {"artifact": {"sha256": "ab" * 32}, "payload_sha256": "cd" * 32}
    assert in_flight_keys(record) == {
        f"artifacts/sha256/{'ab' * 32}/model.tar.gz",
        f"artifacts/sha256/{'cd' * 32}/payload.tar.gz",
    }
    assert in_flight_keys({"artifact": "damaged"}) == set()
    assert in_flight_keys([1, 2]) == set()


def test_select_uploads_by_age() -> None:
    uploads = [
        PendingUpload("artifacts/a", "s3://b/mimsreg/artifacts/a", "u1", NOW - timedelta(hours=2)),
        PendingUpload("artifacts/a", "s3://b/mimsreg/artifacts/a", "u2", NOW),
    ]
    [old] = select_uploads(uploads, NOW, HOUR)
    assert (old.kind, old.upload_id, old.size) == (INCOMPLETE_UPLOAD, "u1", None)
    assert old.to_dict()["upload_id"] == "u1"


# --- local ------------------------------------------------------------------------------------
def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_local_gc_removes_leftovers_and_keeps_versions(tmp_path: Path) -> None:
    """A killed copy's temporary file and an artifact no version uses go; the rest stays."""
    model = write_model_archive(tmp_path / "model.tar.gz")
    assert invoke("register", model, "--config", EXAMPLE_CONFIG).exit_code == 0
    store = default_home() / "artifacts" / "sha256"
    kept = sorted(p for p in store.rglob("*") if p.is_file())
    temporary = store / kept[0].parent.name / ".incoming-abc123"
    temporary.write_bytes(b"half a copy")
    orphan = store / ("f" * 64) / "model.tar.gz"
    orphan.parent.mkdir()
    orphan.write_bytes(b"staged, never registered")
    young = store / ("e" * 64) / "model.tar.gz"
    young.parent.mkdir()
    young.write_bytes(b"a registration in flight")
    for path in [*kept, temporary, orphan]:
        age(path, 2 * HOUR)

    dry = invoke("gc", "--older-than", "1h", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    listed = json.loads(dry.stdout)
    assert [(g["kind"], g["location"], g["removed"]) for g in listed] == [
        (TEMPORARY_FILE, str(temporary), False),
        (UNREFERENCED_ARTIFACT, str(orphan), False),
    ]
    assert temporary.exists()
    assert orphan.exists()

    done = invoke("gc", "--older-than", "1h")
    assert done.exit_code == 0, done.output
    assert "removed 2 item(s)" in done.stderr
    assert not temporary.exists()
    assert not orphan.exists()
    assert not orphan.parent.exists()
    assert young.exists()
    assert all(path.exists() for path in kept)
    assert invoke("gc", "--older-than", "1h", "--json").stdout.strip() == "[]"
    assert invoke("show", "BuyerSellerMessaging-FraudDetection/1").exit_code == 0


def test_reused_artifact_is_touched_so_gc_leaves_it_to_the_registration(tmp_path: Path) -> None:
    """An old unreferenced artifact that a registration reuses becomes young again: a gc
    running between the reuse and the version's insert would otherwise delete it."""
    model = write_model_archive(tmp_path / "model.tar.gz")
    plan = make_plan(model, ["us-east-1"])
    inventory = LocalInventory()
    stored = inventory.artifact_root / plan.regions[0].artifact_key
    stored.parent.mkdir(parents=True)
    stored.write_bytes(model.read_bytes())
    age(stored, 2 * HOUR)
    assert [g.location for g in inventory.collect_garbage(HOUR, dry_run=True)] == [str(stored)]
    execute_plan(plan, inventory, model)
    assert time.time() - stored.stat().st_mtime < 60
    assert inventory.collect_garbage(0) == []
    assert stored.exists()


def test_gc_removes_folders_killed_processes_left_in_the_temporary_folder(
    system_tmp: Path,
) -> None:
    """A SIGKILLed register cannot remove its payload folder; gc does, once it is old."""
    old = system_tmp / "mimsreg-payload-abc"
    (old / "sub").mkdir(parents=True)
    (old / "sub" / "payload.tar.gz").write_bytes(b"x" * 100)
    young = system_tmp / "mimsreg-check-def"
    young.mkdir()
    other = system_tmp / "someone-elses-payload-ghi"
    other.mkdir()
    age(old, 2 * HOUR)
    age(other, 2 * HOUR)
    (system_tmp / "mimsreg-payload-file").write_bytes(b"not a folder")

    dry = json.loads(invoke("gc", "--older-than", "1h", "--dry-run", "--json").stdout)
    assert [(g["kind"], g["location"], g["size"]) for g in dry] == [
        (TEMPORARY_FOLDER, str(old), 100)
    ]
    assert old.exists()
    [removed] = json.loads(invoke("gc", "--older-than", "1h", "--json").stdout)
    assert removed["removed"]
    assert not old.exists()
    assert young.exists()
    assert other.exists()


def test_gc_keeps_an_old_temporary_folder_a_live_process_still_holds(system_tmp: Path) -> None:
    """Age alone cannot tell a leftover from a long check still running: the holder's flock
    does. Once the holder is killed (the lock dies with it), the same folder is garbage."""
    with working_folder("mimsreg-check-") as held:
        age(held, 2 * HOUR)
        assert in_use(held)
        assert json.loads(invoke("gc", "--older-than", "1h", "--json").stdout) == []
        assert held.exists()
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, signal, tempfile, sys\n"
            "tempfile.tempdir = sys.argv[1]\n"
            "from mimsreg.engine.workdirs import working_folder\n"
            "with working_folder('mimsreg-payload-') as f:\n"
            "    print(f, flush=True); os.kill(os.getpid(), signal.SIGKILL)\n",
            str(system_tmp),
        ],
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -signal.SIGKILL
    left = Path(killed.stdout.strip())
    assert left.is_dir()
    assert not in_use(left)
    age(left, 2 * HOUR)
    [removed] = json.loads(invoke("gc", "--older-than", "1h", "--json").stdout)
    assert (removed["location"], removed["removed"]) == (str(left), True)
    assert not left.exists()


def test_local_gc_keeps_artifacts_of_another_inventory_sharing_the_store(tmp_path: Path) -> None:
    """sqlite:///x/a.db and sqlite:///x/b.db share x/artifacts: gc of b keeps what a uses."""
    model = write_model_archive(tmp_path / "model.tar.gz")
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "notes.db").write_bytes(b"")  # an empty SQLite file, not an inventory
    first = f"sqlite://{folder / 'a.db'}"
    assert (
        invoke("register", model, "--config", EXAMPLE_CONFIG, "--inventory", first).exit_code == 0
    )
    LocalInventory(folder / "b.db").close()
    stored = [p for p in (folder / "artifacts").rglob("*") if p.is_file()]
    for path in stored:
        age(path, 2 * HOUR)
    result = invoke("gc", "--inventory", f"sqlite://{folder / 'b.db'}", "--json")
    assert (result.exit_code, result.stdout.strip()) == (0, "[]")
    assert all(path.exists() for path in stored)
    (folder / "broken.db").write_bytes(b"not a database at all, " * 100)
    broken = invoke("gc", "--inventory", f"sqlite://{folder / 'b.db'}")
    assert broken.exit_code == 1
    assert "broken.db" in broken.stderr
    assert all(path.exists() for path in stored)


def test_gc_bad_duration_exits_2() -> None:
    result = invoke("gc", "--older-than", "yesterday")
    assert result.exit_code == 2
    assert "--older-than" in result.stderr


# --- SageMaker (moto) -------------------------------------------------------------------------
@pytest.mark.usefixtures("aws")
def test_sagemaker_gc_removes_orphans_and_keeps_versions(tmp_path: Path) -> None:
    """Unreferenced artifacts and documents, locks and incomplete multipart uploads go; what a
    version references stays and still registers as unchanged."""
    region = "us-east-1"
    bucket = TEST_BUCKET.format(region=region)
    model = write_model_archive(tmp_path / "model.tar.gz")
    inventory = SageMakerInventory(regions=[region])
    [result] = execute_plan(make_plan(model, [region]), inventory, model)
    s3 = boto3.client("s3", region_name=region)
    before = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    orphans = {
        "mimsreg/artifacts/sha256/" + "f" * 64 + "/model.tar.gz",
        "mimsreg/records/" + "9" * 64 + ".json",
        "mimsreg/schemas/" + "9" * 64 + ".json",
    }
    for key in orphans:
        s3.put_object(Bucket=bucket, Key=key, Body=b"left behind")
    s3.put_object(Bucket=bucket, Key="elsewhere/not-ours", Body=b"x")
    live_lock = "mimsreg/locks/crash-model.json"  # seconds old: a live lease, kept
    s3.put_object(Bucket=bucket, Key=live_lock, Body=b"{}")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mimsreg/artifacts/sha256/ab/x")

    young = invoke("gc", "--inventory", "sagemaker", "--region", region, "--dry-run", "--json")
    assert young.exit_code == 0, young.output
    # Every object is under 24 h old: kept. moto reports every upload as initiated on
    # 2010-11-10 (a constant in moto/s3/responses.py), so only the upload looks old here; the
    # age rule for uploads is pinned by test_select_uploads_by_age.
    assert [g["kind"] for g in json.loads(young.stdout)] == [INCOMPLETE_UPLOAD]

    dry = invoke(
        "gc",
        "--inventory",
        "sagemaker",
        "--region",
        "NA",
        "--older-than",
        "0",
        "--dry-run",
        "--json",
    )
    assert dry.exit_code == 0, dry.output
    assert {g["kind"] for g in json.loads(dry.stdout)} == {
        UNREFERENCED_ARTIFACT,
        UNREFERENCED_DOCUMENT,
        INCOMPLETE_UPLOAD,
    }
    removed = invoke(
        "gc", "--inventory", "sagemaker", "--region", region, "--older-than", "0s", "--json"
    )
    assert removed.exit_code == 0, removed.output
    items = json.loads(removed.stdout)
    assert all(item["removed"] for item in items)
    assert {i["location"] for i in items if i["kind"] != INCOMPLETE_UPLOAD} == {
        f"s3://{bucket}/{key}" for key in orphans
    }
    assert [i["upload_id"] for i in items if i["kind"] == INCOMPLETE_UPLOAD] == [upload["UploadId"]]
    after = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert after == before | {"elsewhere/not-ours", live_lock}
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    [again] = execute_plan(make_plan(model, [region]), inventory, model)
    assert (again.version, again.status) == (result.version, "unchanged")


@pytest.mark.usefixtures("aws")
def test_sagemaker_gc_needs_a_bucket_when_a_region_has_no_version() -> None:
    """Without versions to point at it, the bucket must be named; with --bucket it works."""
    empty = invoke("gc", "--inventory", "sagemaker", "--region", "eu-west-1")
    assert empty.exit_code == 2
    assert "--bucket" in empty.stderr
    named = invoke(
        "gc", "--inventory", "sagemaker", "--region", "eu-west-1", "--bucket", TEST_BUCKET
    )
    assert named.exit_code == 0, named.output
    # An empty result says so (issue 19: it used to print a bare header and "removed 0 item(s)").
    assert "nothing to remove" in named.stdout


@pytest.mark.usefixtures("aws")
def test_sagemaker_gc_leaves_an_old_artifact_a_registration_in_flight_reuses() -> None:
    """An artifact staged long ago and found in place keeps its age; the young record of the
    registration reusing it protects it until its version exists."""
    region = "us-east-1"
    bucket = TEST_BUCKET.format(region=region)
    s3 = boto3.client("s3", region_name=region)
    digest = "ab" * 32
    artifact = f"mimsreg/artifacts/sha256/{digest}/model.tar.gz"
    abandoned = f"mimsreg/artifacts/sha256/{'cd' * 32}/model.tar.gz"
    s3.put_object(Bucket=bucket, Key=artifact, Body=b"model")
    s3.put_object(Bucket=bucket, Key=abandoned, Body=b"model")
    time.sleep(10)  # older than --older-than by far, the record far younger: robust under load
    record = {"artifact": {"sha256": digest}}
    s3.put_object(Bucket=bucket, Key="mimsreg/records/inflight.json", Body=json.dumps(record))
    args = ["gc", "--inventory", "sagemaker", "--region", region, "--bucket", TEST_BUCKET]
    result = invoke(*args, "--older-than", "8s", "--json")
    assert result.exit_code == 0, result.output
    assert [g["location"] for g in json.loads(result.stdout)] == [f"s3://{bucket}/{abandoned}"]
    s3.head_object(Bucket=bucket, Key=artifact)


def test_sagemaker_gc_keeps_what_other_regions_use_in_a_shared_bucket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strict_aws: Any
) -> None:
    """A bucket both regions used (allowed before buckets were checked against their region):
    gc of one region keeps the artifact, payload and documents of the other region's version,
    even with --older-than 0s."""
    shared = TEST_BUCKET.format(region="us-east-1")
    # As an older mimsreg did, and as AWS may accept (whether it checks the artifact's region at
    # CreateModelPackage is not documented): the version points at a bucket of another region.
    monkeypatch.setattr(SageMakerInventory, "_bucket_problem", lambda *_: None)
    strict_aws.enabled.discard("sm-artifact-region")
    artifact = write_model_archive(tmp_path / "eu.tar.gz", weights=b"only-in-eu")
    plan = make_plan(artifact, ["eu-west-1"], bucket=shared)
    (result,) = execute_plan(plan, SageMakerInventory(), artifact)
    assert result.status == "created"
    s3 = boto3.client("s3", region_name="us-east-1")
    before = {o["Key"] for o in s3.list_objects_v2(Bucket=shared, Prefix="mimsreg/")["Contents"]}
    time.sleep(1.1)
    args = ["gc", "--inventory", "sagemaker", "--region", "us-east-1", "--bucket", shared]
    gone = invoke(*args, "--older-than", "0s", "--json")
    assert gone.exit_code == 0, gone.output
    assert json.loads(gone.stdout) == []
    after = {o["Key"] for o in s3.list_objects_v2(Bucket=shared, Prefix="mimsreg/")["Contents"]}
    assert after == before
