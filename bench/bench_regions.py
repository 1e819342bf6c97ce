"""SageMaker backend, many regions: wall time of one registration in 1, 4 and 8 regions.

Run: ``make bench-regions`` (or ``.venv/bin/python bench/bench_regions.py [--rounds N]``).

A moto server (our child process, 127.0.0.1, free port) sits behind ``bench/latency_proxy.py``,
which adds 50 ms before forwarding each request, so every AWS call costs a round trip as it would
from a processing job to a remote region. boto3 reaches the proxy through ``AWS_ENDPOINT_URL``.
Buckets ``mimsreg-test-{region}`` are created first (not timed). Each measurement is the whole of
``execute_plan`` with a fresh ``SageMakerInventory`` (so it includes making the clients), a fresh
group name (so every region creates its group) and a fresh 1 MiB artifact (so it is uploaded once
and copied server side to the other regions, never found already staged). Rounds interleave the
three sizes in a rotating order; the table reports medians. The baseline is the same registration
in one region, measured in the same run: T(8) ≤ 1.5 x T(1) is the target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.helpers import make_plan, write_model_archive  # noqa: E402

from bench._aws import (  # noqa: E402
    create_buckets,
    latency_proxy,
    machine_facts,
    moto_server,
    use_fake_credentials,
)
from bench._report import update_section  # noqa: E402
from mimsreg.execute import execute_plan  # noqa: E402
from mimsreg.inventory.sagemaker import SageMakerInventory  # noqa: E402

REGIONS = [
    "us-east-1",
    "eu-west-1",
    "ap-southeast-2",
    "us-west-2",
    "eu-central-1",
    "ap-northeast-1",
    "ca-central-1",
    "sa-east-1",
]
SIZES = (1, 4, 8)
BUCKET = "mimsreg-test-{region}"
ARTIFACT_BYTES = 1024 * 1024
DELAY_MS = 50.0
TARGET = 1.5


def register(folder: Path, regions: list[str], label: str) -> float:
    """Seconds for one ``execute_plan`` over ``regions``: new group, new artifact."""
    artifact = write_model_archive(folder / f"{label}.tar.gz", weights=os.urandom(ARTIFACT_BYTES))
    plan = make_plan(artifact, regions, model_package_group_name=f"bench-{label}")
    inventory = SageMakerInventory()
    start = time.perf_counter()
    results = execute_plan(plan, inventory, artifact)
    elapsed = time.perf_counter() - start
    failed = [r for r in results if r.status != "created"]
    if failed:
        raise RuntimeError(f"registration did not create every version: {failed}")
    artifact.unlink()
    return elapsed


def measure(rounds: int, folder: Path) -> dict[int, list[float]]:
    times: dict[int, list[float]] = {n: [] for n in SIZES}
    register(folder, REGIONS, "warm-up")  # imports, botocore's model cache, moto's first calls
    for index in range(rounds):
        order = SIZES[index % len(SIZES) :] + SIZES[: index % len(SIZES)]
        for n in order:
            times[n].append(register(folder, REGIONS[:n], f"r{index}-n{n}"))
        print(
            f"round {index + 1}/{rounds}: "
            + ", ".join(f"T({n}) {times[n][-1]:.3f} s" for n in SIZES),
            flush=True,
        )
    return times


def report(times: dict[int, list[float]], rounds: int) -> str:
    medians = {n: statistics.median(values) for n, values in times.items()}
    base = medians[1]
    ratio8 = medians[8] / base
    rows = [
        f"| {n} | {medians[n]:.3f} s | {min(times[n]):.3f} to {max(times[n]):.3f} s"
        f" | {medians[n] / base:.2f} x |"
        + (f" ≤ {TARGET} x {'met' if ratio8 <= TARGET else 'MISSED'} |" if n == 8 else " |")
        for n in SIZES
    ]
    return "\n".join(
        [
            f"Measured with `make bench-regions` ({rounds} interleaved rounds, medians;"
            f" {machine_facts()}; {DELAY_MS:.0f} ms added before every request;"
            f" {ARTIFACT_BYTES // 1024 // 1024} MiB artifact).",
            "",
            "| regions N | T(N) median | range | T(N) / T(1) | target |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "Method: a moto server and `bench/latency_proxy.py` run as child processes on"
            " 127.0.0.1; the proxy relays every request byte for byte (headers, streamed and"
            f" chunked bodies, `Expect: 100-continue`) after a {DELAY_MS:.0f} ms pause, so each"
            " AWS call costs a round trip. Each timing is one whole `execute_plan` with a fresh"
            " `SageMakerInventory` (client creation included), a new model package group and a"
            " new 1 MiB artifact, so every region looks the version up, creates its group,"
            " stages the artifact (one upload, server-side copies to the other regions, each"
            " verified), writes the record, schema and approval history, and creates the"
            " version. The baseline is the same registration in one region, measured in the"
            " same run; sizes alternate in a rotating order each round.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--no-write", action="store_true", help="print, leave the docs alone")
    args = parser.parse_args()
    use_fake_credentials()
    with (
        tempfile.TemporaryDirectory(prefix="mimsreg-bench-") as folder,
        moto_server() as moto,
        latency_proxy(moto, DELAY_MS) as proxy,
    ):
        create_buckets(moto, REGIONS, BUCKET)
        os.environ["AWS_ENDPOINT_URL"] = proxy
        times = measure(args.rounds, Path(folder))
    table = report(times, args.rounds)
    print(table)
    if not args.no_write:
        title = "SageMaker backend, many regions (`bench/bench_regions.py`)"
        update_section("regions", title, table)


if __name__ == "__main__":
    main()
