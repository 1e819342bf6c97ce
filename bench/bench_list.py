"""Benchmark: reading a SageMaker inventory of 10,000 versions in 500 groups per region, 3 regions.

    python bench/bench_list.py [--versions 10000] [--groups 500] [--rounds 3] [--no-write]

A moto server (child process) is filled straight through boto3 (``tests/support/scale.py``:
groups and versions as mimsreg makes them, not through its register flow), then read through the
strict AWS layer (``tests/support/strict_aws.py``, in this process), which pages ``Search`` as
AWS does, in interleaved rounds, each command a fresh process:

- ``mimsreg list --json --inventory sagemaker --region A,B,C``;
- the UI's groups page: ``GET /api/groups`` of ``create_app(SageMakerInventory(...))``;
- the baseline: a bare boto3 paging loop over the same groups (ListModelPackageGroups pages, then
  ListModelPackages pages of each group, region after region), printing the summaries as JSON.

Targets (issue 21): each at most 2x the baseline's wall time. Calls per command are counted at
the proxy. Writes the section "list" of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.scale import Scale, populate  # noqa: E402

from bench._aws import machine_facts, moto_server, use_fake_credentials  # noqa: E402
from bench._report import update_section  # noqa: E402

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")

BASELINE = """
import json, sys, boto3
rows = []
for region in sys.argv[1].split(","):
    sm = boto3.client("sagemaker", region_name=region)
    groups, kwargs = [], {"MaxResults": 100}
    while True:
        page = sm.list_model_package_groups(**kwargs)
        groups += [g["ModelPackageGroupName"] for g in page["ModelPackageGroupSummaryList"]]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    for group in groups:
        kwargs = {"ModelPackageGroupName": group, "MaxResults": 100}
        while True:
            page = sm.list_model_packages(**kwargs)
            rows += [
                {"group": group, "version": p["ModelPackageVersion"], "region": region,
                 "approval_status": p["ModelApprovalStatus"],
                 "created_at": p["CreationTime"].isoformat()}
                for p in page["ModelPackageSummaryList"]
            ]
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
print(json.dumps(rows))
"""

UI_GROUPS = """
import sys
from starlette.testclient import TestClient
from mimsreg.engine.inventory.sagemaker import SageMakerInventory
from mimsreg.ui import create_app
inventory = SageMakerInventory(regions=sys.argv[1].split(","))
client = TestClient(create_app(inventory, default_actor="bench"), base_url="http://localhost")
response = client.get("/api/groups")
assert response.status_code == 200, response.text
print(len(response.json()))
"""


@dataclass
class Command:
    name: str
    argv: list[str]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    operations: dict[str, int] = field(default_factory=dict)
    output: str = ""


def run(command: Command, env: dict[str, str], proxy: object) -> None:
    requests = proxy.requests  # type: ignore[attr-defined]
    requests.clear()
    start = time.perf_counter()
    before = os.times()
    result = subprocess.run(command.argv, env=env, capture_output=True, text=True, check=False)
    after = os.times()
    command.wall.append(time.perf_counter() - start)
    if result.returncode != 0:
        raise SystemExit(f"{command.name} failed: {result.stderr[-2000:]}")
    command.cpu.append(
        (after.children_user - before.children_user)
        + (after.children_system - before.children_system)
    )
    command.calls.append(sum(requests.values()))
    command.operations = dict(requests)
    command.output = result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=int, default=10_000, help="per region")
    parser.add_argument("--groups", type=int, default=500, help="per region")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    use_fake_credentials()

    import boto3
    from tests.support.strict_aws import strict_aws_proxy

    scale = Scale(REGIONS, args.groups, args.versions)
    with moto_server() as moto, strict_aws_proxy(moto.url) as proxy:
        start = time.perf_counter()
        populate(
            scale,
            lambda region: boto3.client("sagemaker", region_name=region, endpoint_url=moto.url),
            progress=lambda done: print(f"\r{done:,} versions made", end="", flush=True),
        )
        filled = time.perf_counter() - start
        print(f"\nfilled in {filled:.0f} s", flush=True)
        env = {**os.environ, "AWS_ENDPOINT_URL": proxy.url, "PYTHONPATH": _pythonpath()}
        regions = ",".join(REGIONS)
        mimsreg = str(Path(sys.executable).parent / "mimsreg")
        commands = [
            Command("bare boto3 paging loop (baseline)", [sys.executable, "-c", BASELINE, regions]),
            Command(
                "mimsreg list --json",
                [mimsreg, "list", "--json", "--inventory", "sagemaker", "--region", regions],
            ),
            Command("UI groups page (/api/groups)", [sys.executable, "-c", UI_GROUPS, regions]),
        ]
        load_before = os.getloadavg()[0]
        for command in commands:  # warm-up: imports and moto's caches
            run(command, env, proxy)
            command.wall.clear(), command.cpu.clear(), command.calls.clear()
        for index in range(args.rounds):
            for command in commands if index % 2 == 0 else commands[::-1]:
                run(command, env, proxy)
            print(f"round {index + 1}/{args.rounds} done", flush=True)
        load_after = os.getloadavg()[0]
        moto_cpu = _moto_cpu(moto.pid)
    _check(commands, scale)
    body = _report(commands, scale, args.rounds, filled, (load_before, load_after), moto_cpu)
    print(body)
    if not args.no_write:
        update_section("list", "Reading an inventory at scale (`bench/bench_list.py`)", body)


def _pythonpath() -> str:
    paths = [str(REPO / "src"), str(REPO)]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(paths)


def _moto_cpu(pid: int) -> float:
    from bench._aws import cpu_seconds

    return cpu_seconds(pid)


def _check(commands: list[Command], scale: Scale) -> None:
    baseline, listed, groups = commands
    total = scale.versions * len(scale.regions)
    assert len(json.loads(baseline.output)) == total, "the baseline missed versions"
    rows = json.loads(listed.output)
    assert len(rows) == total, f"list gave {len(rows)} rows, not {total}"
    assert all(len(row["sha256"]) == 64 for row in rows), "a listed version lacks its digest"
    assert int(groups.output) == scale.groups, "the groups page lacks groups"


def _report(
    commands: list[Command],
    scale: Scale,
    rounds: int,
    filled: float,
    load: tuple[float, float],
    moto_cpu: float,
) -> str:
    base = statistics.median(commands[0].wall)
    lines = [
        f"Measured with `make bench-list` ({scale.versions:,} versions in {scale.groups} groups "
        f"per region, {len(scale.regions)} regions: {scale.versions * len(scale.regions):,} "
        f"versions, filled straight into moto with boto3 in {filled:.0f} s; {rounds} interleaved "
        f"rounds after a warm-up, medians; {machine_facts()}; load average {load[0]:.1f} before, "
        f"{load[1]:.1f} after, the machine being shared).",
        "",
        "| command | wall time | / baseline | its CPU | calls | calls by operation | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for index, command in enumerate(commands):
        wall = statistics.median(command.wall)
        ratio = wall / base
        target = "" if index == 0 else f"≤ 2.0 x {'met' if ratio <= 2.0 else 'MISSED'}"
        operations = ", ".join(
            f"{name.split(':', 1)[1]} {count:,}"
            for name, count in sorted(command.operations.items())
        )
        lines.append(
            f"| {command.name} | {wall:.2f} s | {ratio:.2f} x | "
            f"{statistics.median(command.cpu):.2f} s | {statistics.median(command.calls):,.0f} | "
            f"{operations} | {target} |"
        )
    lines += [
        "",
        "Method: a moto server (child process) behind the strict AWS layer (a thread of the "
        "benchmark's process), which pages `Search` as AWS does (at most `MaxResults`, 100, per "
        "call: moto answers everything at once); every command is a fresh process reaching the "
        "layer through `AWS_ENDPOINT_URL`, timed start to exit; CPU is the command's own (moto's "
        f"was {moto_cpu:.0f} s over the whole run, filling included). The baseline lists each "
        "group's versions region after region and prints them (no digests: summaries do not "
        "carry them); mimsreg lists the three regions in parallel, each with `ListModelPackages` "
        "over the whole region and `Search` for the digests and owners, 100 versions a page; the "
        "groups page does the same listing and reads no version whole.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
