"""SageMaker backend, staging a big artifact: mimsreg against ``aws s3 cp``, time and peak RSS.

Run: ``make bench-staging`` (or ``.venv/bin/python bench/bench_staging.py [--rounds N]
[--sizes-mib 1024 256]``).

A random-bytes artifact per size is written once to ``bench/out/`` (gitignored). A moto server
(our child process, 127.0.0.1, free port, no latency proxy) stands in for S3 and SageMaker.
Each side runs as its own child process, one after the other, alternating which goes first:

- mimsreg: a fresh interpreter that loads the plan (built and pickled beforehand, so the child
  imports only the portable modules the processing job runs) and calls ``execute_plan`` for one
  region: the whole registration, of which staging the artifact (upload with per-part SHA-256
  checksums, then the verifying HeadObject) is nearly all the time;
- baseline: ``aws s3 cp FILE s3://bucket/key --endpoint-url URL`` of the same file to the same
  server, with the AWS CLI's defaults (CRC32 part checksums);
- same-work reference: the same command with ``--checksum-algorithm SHA256``, the checksum
  mimsreg sends, which moto (on the same two cores) then computes too.

Times are wall seconds of the whole child process, start to exit, for both. Peak RSS is the
child's own ``ru_maxrss`` from ``os.wait4`` (the largest process of its tree). moto keeps uploaded
objects in memory, so it is reset (``POST /moto-api/reset``) and the bucket made again before
every upload, untimed; moto's memory is not counted. Medians over the rounds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
sys.path.insert(0, str(REPO))

SIDES = ("mimsreg", "aws", "aws-sha256")
REGION = "us-east-1"
BUCKET = "mimsreg-test-{region}"
MIB = 1024 * 1024
PIECE = 16 * MIB
TIME_TARGET = 1.0  # mimsreg time / aws s3 cp time
RSS_TARGET_MB = 150.0


@dataclass(frozen=True)
class Run:
    """One child process: wall seconds, peak RSS in bytes, and what it printed last (JSON)."""

    seconds: float
    peak_rss: int
    report: dict[str, float]


def artifact_file(size_mib: int) -> tuple[Path, str]:
    """``bench/out/artifact-{size}MiB.bin`` of random bytes (made once) and its SHA-256."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"artifact-{size_mib}MiB.bin"
    digest_file = path.with_suffix(".sha256")
    if path.exists() and path.stat().st_size == size_mib * MIB and digest_file.exists():
        return path, digest_file.read_text().strip()
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        for _ in range(size_mib * MIB // PIECE):
            data = os.urandom(PIECE)
            digest.update(data)
            handle.write(data)
        rest = size_mib * MIB % PIECE
        if rest:
            data = os.urandom(rest)
            digest.update(data)
            handle.write(data)
    digest_file.write_text(digest.hexdigest() + "\n")
    return path, digest.hexdigest()


def pickled_plan(path: Path, sha256: str, label: str) -> Path:
    """The one-region registration plan of ``path``, pickled for the child to load."""
    from tests.helpers import fake_image, seed_spec

    from mimsreg.package import PackageManifest, PackageMember
    from mimsreg.plan import RegistrationContext, build_plan

    size = path.stat().st_size
    manifest = PackageManifest(
        path=path,
        sha256=sha256,
        size=size,
        compression="gzip",
        members=(PackageMember("model.bin", size, "file"),),
        uncompressed_size=size,
        entry_point="code/inference.py",
        model_files=("model.bin",),
    )
    plan = build_plan(
        seed_spec(model_package_group_name=f"bench-staging-{label}"),
        manifest,
        [REGION],
        context=RegistrationContext(user="bench", host="bench"),
        image_resolver=fake_image,
    )
    target = OUT / f"plan-{label}.pickle"
    target.write_bytes(pickle.dumps(plan))
    return target


def child(plan_file: Path) -> None:
    """The mimsreg side: load the plan, register in one region, print seconds as JSON: of
    ``execute_plan``, and of the staging call in it (upload and verifying HeadObject)."""
    from mimsreg.execute import execute_plan
    from mimsreg.inventory.sagemaker import SageMakerInventory

    staging: list[float] = []

    class Timed(SageMakerInventory):
        def _stage_artifact(self, *args: Any, **kwargs: Any) -> str:
            start = time.perf_counter()
            try:
                return super()._stage_artifact(*args, **kwargs)
            finally:
                staging.append(time.perf_counter() - start)

    plan = pickle.loads(plan_file.read_bytes())
    start = time.perf_counter()
    [result] = execute_plan(plan, Timed(), plan.manifest.path)
    seconds = time.perf_counter() - start
    if result.status != "created":
        raise SystemExit(f"registration failed: {result}")
    print(json.dumps({"execute_plan_seconds": seconds, "staging_seconds": sum(staging)}))


def run_child(command: list[str], env: dict[str, str]) -> Run:
    """Run ``command``; its wall time and peak RSS (``os.wait4`` gives this child's rusage)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE)
    assert process.stdout is not None
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    if process.returncode != 0:
        raise RuntimeError(f"{command[:3]} exited {process.returncode}: {output[-500:]}")
    lines = output.strip().splitlines()
    report = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    return Run(seconds, usage.ru_maxrss * 1024, report)  # ru_maxrss is in KiB on Linux


def aws_command() -> list[str]:
    """The AWS CLI, bypassing a pyenv shim (bash) so only the CLI itself is timed."""
    found = shutil.which("aws")
    if found is None:
        venv_aws = Path(sys.executable).parent / "aws"
        if not venv_aws.exists():
            raise SystemExit("no `aws` on PATH or in the venv: install the AWS CLI (awscli)")
        found = str(venv_aws)
    if "/shims/" in found and shutil.which("pyenv"):
        real = subprocess.run(["pyenv", "which", "aws"], capture_output=True, text=True)
        if real.returncode == 0 and real.stdout.strip():
            found = real.stdout.strip()
    return [found]


def aws_version(aws: list[str]) -> str:
    result = subprocess.run([*aws, "--version"], capture_output=True, text=True, check=True)
    return (result.stdout or result.stderr).split()[0]


def fresh_bucket(url: str) -> None:
    """moto reset (it holds objects in memory), the bucket made again, and moto's SageMaker
    backend woken up: its first call after a reset takes about 0.5 s, which AWS does not."""
    import boto3

    from bench._aws import create_buckets, reset_moto

    reset_moto(url)
    create_buckets(url, [REGION], BUCKET)
    boto3.client("sagemaker", region_name=REGION, endpoint_url=url).list_model_package_groups()


def measure(
    sizes: list[int], rounds: int, url: str, aws: list[str]
) -> dict[int, dict[str, list[Run]]]:
    env = {**os.environ, "AWS_ENDPOINT_URL": url}
    bucket = BUCKET.format(region=REGION)
    runs: dict[int, dict[str, list[Run]]] = {size: {side: [] for side in SIDES} for size in sizes}
    commands: dict[int, dict[str, list[str]]] = {}
    for size in sizes:
        path, sha256 = artifact_file(size)
        plan = pickled_plan(path, sha256, f"{size}mib")
        cli = [
            *aws,
            "s3",
            "cp",
            str(path),
            f"s3://{bucket}/cli/{path.name}",
            "--endpoint-url",
            url,
            "--region",
            REGION,
            "--only-show-errors",
        ]
        commands[size] = {
            "mimsreg": [sys.executable, __file__, "--child", str(plan)],
            "aws": cli,
            "aws-sha256": [*cli, "--checksum-algorithm", "SHA256"],
        }
    for index in range(rounds):
        shift = index % len(SIDES)
        sides = SIDES[shift:] + SIDES[:shift]  # each side goes first in turn
        for size in sizes:
            for side in sides:
                fresh_bucket(url)
                runs[size][side].append(run_child(commands[size][side], env))
            done = ", ".join(
                f"{side} {runs[size][side][-1].seconds:.2f} s"
                f" {runs[size][side][-1].peak_rss / 1e6:.0f} MB"
                for side in SIDES
            )
            print(f"round {index + 1}/{rounds}, {size} MiB: {done}", flush=True)
    fresh_bucket(url)  # leave moto small
    return runs


def report(runs: dict[int, dict[str, list[Run]]], rounds: int, aws_name: str) -> str:
    from bench._aws import machine_facts
    from mimsreg.inventory import sagemaker

    def median(runs_: list[Run], field: str) -> float:
        return statistics.median(getattr(run, field) for run in runs_)

    rows = []
    for size, sides in runs.items():
        ours, theirs = median(sides["mimsreg"], "seconds"), median(sides["aws"], "seconds")
        same_work = median(sides["aws-sha256"], "seconds")
        inner = statistics.median(r.report["execute_plan_seconds"] for r in sides["mimsreg"])
        staging = statistics.median(r.report["staging_seconds"] for r in sides["mimsreg"])
        worst_rss = max(r.peak_rss for r in sides["mimsreg"]) / 1e6
        ratio = ours / theirs
        time_ok = "met" if ratio <= TIME_TARGET else "MISSED"
        rss_ok = "met" if worst_rss <= RSS_TARGET_MB else "MISSED"
        label = f"{size // 1024} GiB" if size % 1024 == 0 else f"{size} MiB"
        rows.append(
            f"| {label} | {ours:.2f} s ({inner:.2f} s `execute_plan`, {staging:.2f} s staging)"
            f" | {theirs:.2f} s"
            f" | {ratio:.2f} x ≤ {TIME_TARGET:.1f} x {time_ok} | {same_work:.2f} s"
            f" ({ours / same_work:.2f} x) | {median(sides['mimsreg'], 'peak_rss') / 1e6:.0f} MB"
            f" (max {worst_rss:.0f}) ≤ {RSS_TARGET_MB:.0f} MB {rss_ok}"
            f" | {median(sides['aws'], 'peak_rss') / 1e6:.0f} MB |"
        )
    config = (
        f"part size {sagemaker.MULTIPART_CHUNK // MIB} MiB, max_concurrency"
        f" {sagemaker.MAX_CONCURRENCY}"
    )
    return "\n".join(
        [
            f"Measured with `make bench-staging` ({rounds} interleaved rounds, medians;"
            f" {machine_facts()}; {aws_name}; mimsreg {config}).",
            "",
            "| artifact | mimsreg | `aws s3 cp` | ratio, target | `aws s3 cp"
            " --checksum-algorithm SHA256` (mimsreg / it) | mimsreg peak RSS, target"
            " | `aws s3 cp` peak RSS |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            "Method: a random-bytes file per size in `bench/out/`, uploaded to a moto server"
            " on 127.0.0.1 (no latency proxy) by three child processes in rotating order:"
            " mimsreg's `execute_plan` for one region (a fresh interpreter loading a pickled"
            " plan, importing only the portable modules: lookup, group, then the staging path"
            " under test, i.e. `upload_file` with per-part SHA-256 checksums and the verifying"
            " HeadObject, then record, schema and version) and `aws s3 cp` of the same file with"
            " the CLI's defaults (8 MiB parts, 10 concurrent requests, CRC32 part checksums),"
            " and the same command with `--checksum-algorithm SHA256`, which does the work"
            " mimsreg does (SHA-256 of every part on the client, and again in moto, on the same"
            " two cores)."
            " Times are wall seconds of each whole process, start to exit, the baseline's"
            " measure: mimsreg's process registers as well (SageMaker calls, loading the"
            " SageMaker model: about 0.3 s), so the time inside `execute_plan` and inside its"
            " staging call (upload and verifying HeadObject) are shown too; peak RSS is each"
            " child's `ru_maxrss` from `os.wait4`. moto keeps objects in memory: it is reset"
            " and the bucket made again before every upload, untimed (with one SageMaker call,"
            " as moto's first one after a reset is slow), and its memory is not counted.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes-mib", type=int, nargs="+", default=[1024, 256])
    parser.add_argument("--no-write", action="store_true", help="print, leave the docs alone")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    from bench._aws import moto_server, use_fake_credentials
    from bench._report import update_section

    use_fake_credentials()
    aws = aws_command()
    aws_name = aws_version(aws)
    with moto_server() as moto:
        runs = measure(args.sizes_mib, args.rounds, moto.url, aws)
    table = report(runs, args.rounds, aws_name)
    print(table)
    if not args.no_write:
        title = "SageMaker backend, staging a big artifact (`bench/bench_staging.py`)"
        update_section("staging", title, table)


if __name__ == "__main__":
    main()
