"""SageMaker backend, big groups: one registration into a group of 0, 100 and 1,000 versions.

Run: ``make bench-lookup`` (or ``.venv/bin/python bench/bench_lookup.py [--rounds N]``).

Three processes on 127.0.0.1: boto3 → ``bench/latency_proxy.py`` (20 ms before forwarding each
request, as a round trip to AWS would cost) → the strict AWS proxy of
``tests/support/strict_aws.py`` (a thread of this process: refuses what AWS refuses and counts
every request per operation) → a moto server (our child). The groups are filled first, not timed
and without the latency proxy, by mimsreg itself (``execute_plan`` with ``SageMakerInventory``,
one small distinct archive per version), so every version carries mimsreg's metadata and its
version-index entry. Each measurement is one ``execute_plan`` in a fresh child process, timed
after its imports: (a) a new model (a fresh archive: "created"), (b) the group's oldest version
again ("unchanged"). Requests per registration are the strict proxy's counters around the child.

The baseline is the code before the version index (``--old-rev``, 34fcb27), checked out in a
temporary git worktree and run the same way (``PYTHONPATH`` pointing at its ``src``), against the
same moto, the same groups and in the same rounds. Target: T(1,000) ≤ 1.5 x T(0).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._aws import (  # noqa: E402
    create_buckets,
    latency_proxy,
    machine_facts,
    moto_server,
    use_fake_credentials,
)
from bench._report import update_section  # noqa: E402

REGION = "us-east-1"
BUCKET = "mimsreg-test-{region}"  # tests/conftest.py TEST_BUCKET, which make_plan uses
SIZES = (0, 100, 1000)
OLD_SIZES = (0, 1000)
OLD_REV = "34fcb27"
DELAY_MS = 20.0
TARGET = 1.5
CASES = ("created", "unchanged")
# Rules of the strict proxy the old code breaks, switched off while it runs: it sent Tags on
# CreateModelPackage, which AWS refuses (fixed since); the lookups are what is compared.
OLD_RELAXED = {"sm-version-tags"}
TITLE = "SageMaker backend, big groups (`bench/bench_lookup.py`)"
RESULTS = Path(tempfile.gettempdir()) / "mimsreg-bench-lookup.json"  # the last run's raw numbers


@dataclass
class Cell:
    """The runs of one (code, group size, case): wall seconds and requests per operation."""

    seconds: list[float] = field(default_factory=list)
    calls: list[collections.Counter[str]] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(self.seconds)

    def median_calls(self) -> dict[str, float]:
        ops = sorted({op for counts in self.calls for op in counts})
        return {op: statistics.median(counts[op] for counts in self.calls) for op in ops}


# --- the child: one registration, in the code tree it is given --------------------------------


def weights(group: str, index: int) -> bytes:
    """The model bytes of version ``index`` of ``group`` (distinct, reproducible)."""
    return f"{group}/{index}".encode() * 8


def child(tree: Path, layout: str, archive: Path, group: str, expect: str) -> None:
    sys.path[:0] = [str(tree / "src"), str(tree)]  # before this repository's tests and src
    from tests.helpers import make_plan

    if layout == "old":
        from mimsreg.execute import execute_plan  # type: ignore[import-not-found]
        from mimsreg.inventory.sagemaker import (  # type: ignore[import-not-found]
            SageMakerInventory,
        )
    else:
        from mimsreg.engine.execute import execute_plan
        from mimsreg.engine.inventory.sagemaker import SageMakerInventory

    import mimsreg

    if not Path(mimsreg.__file__).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"mimsreg imported from {mimsreg.__file__}, not from {tree}")
    plan = make_plan(archive, [REGION], model_package_group_name=group)
    inventory = SageMakerInventory()
    start = time.perf_counter()
    results = execute_plan(plan, inventory, archive)
    elapsed = time.perf_counter() - start
    statuses = [r.status for r in results]
    if statuses != [expect]:
        raise RuntimeError(f"expected {expect}, got {results}")
    print(json.dumps({"seconds": elapsed}))


# --- the parent ---------------------------------------------------------------------------------


@contextmanager
def old_tree(rev: str) -> Iterator[Path]:
    """``rev`` checked out in a temporary worktree (removed on exit)."""
    folder = Path(tempfile.mkdtemp(prefix="mimsreg-bench-old-"))
    path = folder / "tree"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), rev],
        check=True,
        capture_output=True,
    )
    try:
        yield path
    finally:
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)],
            check=False,
            capture_output=True,
        )
        folder.rmdir()


def populate(folder: Path, group: str, count: int, endpoint: str) -> float:
    """``count`` versions in ``group``, registered by mimsreg in this process; seconds taken."""
    from tests.helpers import make_plan, write_model_archive

    from mimsreg.engine.execute import execute_plan
    from mimsreg.engine.inventory.sagemaker import SageMakerInventory

    os.environ["AWS_ENDPOINT_URL"] = endpoint
    inventory = SageMakerInventory()
    start = time.perf_counter()
    for index in range(count):
        archive = write_model_archive(folder / "fill.tar.gz", weights=weights(group, index))
        plan = make_plan(archive, [REGION], model_package_group_name=group)
        results = execute_plan(plan, inventory, archive)
        if [r.status for r in results] != ["created"]:
            raise RuntimeError(f"filling {group}: {results}")
        if (index + 1) % 100 == 0:
            print(
                f"  {group}: {index + 1}/{count} ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    del os.environ["AWS_ENDPOINT_URL"]
    return time.perf_counter() - start


def group_of(size: int) -> str:
    return f"bench-lookup-{size}"


def run_child(
    strict: object,
    tree: Path,
    layout: str,
    archive: Path,
    group: str,
    expect: str,
    endpoint: str,
) -> tuple[float, collections.Counter[str]]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    if layout == "old":  # its own mimsreg ahead of the editable install of this one
        env["PYTHONPATH"] = f"{tree / 'src'}{os.pathsep}{tree}"
    command = [
        sys.executable,
        __file__,
        "--child",
        expect,
        "--tree",
        str(tree),
        "--layout",
        layout,
        "--archive",
        str(archive),
        "--group",
        group,
    ]
    enabled = set(strict.enabled)  # type: ignore[attr-defined]
    if layout == "old":
        strict.enabled = enabled - OLD_RELAXED  # type: ignore[attr-defined]
    before = collections.Counter(strict.requests)  # type: ignore[attr-defined]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=tree, check=False
        )
    finally:
        strict.enabled = enabled  # type: ignore[attr-defined]
    after = collections.Counter(strict.requests)  # type: ignore[attr-defined]
    if done.returncode != 0:
        raise RuntimeError(f"{layout} {group} {expect}: {done.stderr[-3000:]}")
    seconds = float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
    return seconds, after - before


def measure(
    rounds: int,
    folder: Path,
    trees: dict[str, Path],
    strict: object,
    endpoint: str,
    old_sizes: tuple[int, ...],
) -> dict[tuple[str, int, str], Cell]:
    from tests.helpers import write_model_archive

    combos = [("new", size) for size in SIZES] + [("old", size) for size in old_sizes]
    cells = {(code, size, case): Cell() for code, size in combos for case in CASES}
    for index in range(-1, rounds):  # round -1: a warm-up, not counted
        shift = max(index, 0) % len(combos)
        for code, size in combos[shift:] + combos[:shift]:
            if index < 0 and code == "old" and size:
                continue  # the old code's big group warms nothing up, in minutes
            tag = f"r{index + 1}-{code}-{size}"
            # (a) a new model: a fresh archive; an empty group is a new one each time
            group = group_of(size) if size else f"bench-lookup-empty-{tag}"
            archive = write_model_archive(folder / f"{tag}.tar.gz", weights=weights(tag, 0))
            created = run_child(strict, trees[code], code, archive, group, "created", endpoint)
            # (b) the group's oldest version again (size 0: the version (a) just made)
            if size:
                archive = write_model_archive(
                    folder / f"{tag}-old.tar.gz", weights=weights(group, 0)
                )
            unchanged = run_child(strict, trees[code], code, archive, group, "unchanged", endpoint)
            if index >= 0:
                for case, (seconds, calls) in zip(CASES, (created, unchanged), strict=True):
                    cells[(code, size, case)].seconds.append(seconds)
                    cells[(code, size, case)].calls.append(calls)
            print(
                f"round {index + 1}/{rounds} {code} {size}: created {created[0]:.3f} s"
                f" ({sum(created[1].values())} calls), unchanged {unchanged[0]:.3f} s"
                f" ({sum(unchanged[1].values())} calls)",
                flush=True,
            )
    return cells


def short(op: str) -> str:
    service, _, name = op.partition(":")
    return f"{'SM' if service == 'sagemaker' else 'S3'} {name}"


def calls_text(calls: dict[str, float]) -> str:
    return ", ".join(f"{short(op)} {n:g}" for op, n in calls.items() if n)


def growing(
    cells: dict[tuple[str, int, str], Cell], code: str, sizes: tuple[int, ...]
) -> list[str]:
    """Operations whose count per registration is higher at the largest group than at 100."""
    found = []
    for case in CASES:
        small = cells[(code, sizes[1] if len(sizes) > 2 else sizes[0], case)].median_calls()
        large = cells[(code, sizes[-1], case)].median_calls()
        for op, n in large.items():
            if n > small.get(op, 0):
                found.append(f"{case}: {short(op)} {small.get(op, 0):g} → {n:g}")
    return found


def report(
    cells: dict[tuple[str, int, str], Cell],
    rounds: int,
    load: tuple[tuple[float, float, float], tuple[float, float, float]],
    fill: dict[int, float],
    old_sizes: tuple[int, ...],
    old_rev: str,
) -> str:
    rows = []
    for code, sizes in (("new", SIZES), ("old", old_sizes)):
        for case in CASES:
            base = cells[(code, 0, case)].median()
            for size in sizes:
                cell = cells[(code, size, case)]
                ratio = cell.median() / base
                target = ""
                if size == 1000:
                    target = f"{'met' if ratio <= TARGET else 'MISSED'}" if code == "new" else "-"
                calls = cell.median_calls()
                label = "now" if code == "new" else f"before ({old_rev})"
                versions = f"{size:,}" if size or case == "created" else "1"
                rows.append(
                    f"| {label} | {versions} | {case} | {cell.median():.3f} s"
                    f" | {min(cell.seconds):.3f} to {max(cell.seconds):.3f} s | {ratio:.2f} x"
                    f" | {target} | {sum(calls.values()):g} | {calls_text(calls)} |"
                )
    new_growth = growing(cells, "new", SIZES)
    growth = (
        "Requests per registration that grow with the group (now, 100 → 1,000 versions): "
        + ("; ".join(new_growth) if new_growth else "none")
        + "."
    )
    stable = all(
        len({tuple(sorted(c.items())) for c in cell.calls}) == 1
        for (code, _, _), cell in cells.items()
        if code == "new"
    )
    before, after = load
    filled = ", ".join(f"{size:,} in {seconds:.0f} s" for size, seconds in fill.items())
    return "\n".join(
        [
            f"Measured with `make bench-lookup` ({rounds} interleaved rounds after a warm-up,"
            f" medians; {machine_facts()}; load average {before[0]:.2f} / {before[1]:.2f} /"
            f" {before[2]:.2f} before, {after[0]:.2f} / {after[1]:.2f} / {after[2]:.2f} after,"
            f" the machine being shared; {DELAY_MS:.0f} ms added before every request; one"
            f" region, {REGION}).",
            "",
            "| code | versions in the group | registration | T median | range | T / T(0)"
            f" | ≤ {TARGET} x | requests | requests by operation (median) |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            growth
            + (
                " Every run of a row made the same requests."
                if stable
                else " Some rows' requests differed between runs (medians shown)."
            ),
            "",
            "Method: a moto server (child process), the strict AWS proxy of"
            " `tests/support/strict_aws.py` (a thread of the benchmark: every request checked as"
            " AWS would and counted per operation) and `bench/latency_proxy.py` in front of it"
            f" ({DELAY_MS:.0f} ms before each request), all on 127.0.0.1. The groups of 100 and"
            " 1,000 versions were filled by mimsreg itself (`execute_plan` with"
            " `SageMakerInventory`, one small distinct archive per version, straight to the"
            f" strict proxy without the latency: {filled}), so"
            " each version has mimsreg's metadata and its index entry. Each timing is one"
            " `execute_plan` in a fresh child process (timed after its imports) with a fresh"
            " `SageMakerInventory`. *created*: a new archive (for the empty group, a group that"
            " does not exist yet, so the registration creates it: there is no such thing as an"
            " empty group mimsreg made); *unchanged*: the group's oldest version again (for 0,"
            " the one-version group the created run just made). The runs of both codes add"
            f" their new versions to the same groups, so by the last round the 1,000 group holds"
            f" {1000 + rounds + 1 + (rounds if 1000 in old_sizes else 0):,} versions."
            f" *before* is revision {old_rev} (before the version index) in a temporary git"
            " worktree, run the same way in the same rounds against the same groups, with the"
            f" strict proxy's rule{'s' if len(OLD_RELAXED) > 1 else ''}"
            f" {', '.join(sorted(OLD_RELAXED))} off while it runs (it sent Tags on"
            " CreateModelPackage, which AWS refuses; mended since).",
            "",
            "Reading the numbers: moto answers in about a millisecond, so the times are mostly"
            f" {DELAY_MS:.0f} ms x the requests plus mimsreg's CPU; against AWS each request costs"
            " tens of milliseconds more, so the requests column is the figure that carries over."
            " Now, a lookup reads the identity's index entry (S3 GetObject) and verifies it with"
            " one DescribeModelPackage, whatever the group's size; a new identity without an"
            " entry costs a GetObject of the `_complete` marker instead. The empty group costs a"
            " few requests more than a big one (CreateModelPackageGroup, and the one listing"
            " that indexes the group and writes the marker), so T(1,000) / T(0) can be under 1."
            " Before, every lookup listed the group (no MaxResults: moto's default page, 11 pages"
            " here; AWS documents no larger default) and"
            " described each version until it found the identity: a new model is looked up"
            " twice (before the create and under the create lock), so it describes every"
            " version twice; the unchanged oldest version is the worst case (a recent one is"
            " found after a few describes).",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--old-rev", default=OLD_REV, help="the baseline revision (git)")
    parser.add_argument(
        "--old-size", type=int, default=1000, help="the baseline's big group (100 or 1000)"
    )
    parser.add_argument(
        "--sizes", default="0,100,1000", help="group sizes, 0 first (smaller ones: a quick try)"
    )
    parser.add_argument(
        "--from-results", type=Path, help=f"render a saved run again (e.g. {RESULTS})"
    )
    parser.add_argument("--no-write", action="store_true", help="print, leave the docs alone")
    parser.add_argument("--child", metavar="EXPECT", help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--layout", help=argparse.SUPPRESS)
    parser.add_argument("--archive", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    args = parser.parse_args()
    use_fake_credentials()
    if args.child:  # one registration; AWS_ENDPOINT_URL comes from the parent
        child(args.tree, args.layout, args.archive, args.group, args.child)
        return
    from tests.support.strict_aws import strict_aws_proxy

    global SIZES
    SIZES = tuple(int(size) for size in args.sizes.split(","))

    old_sizes = (0, args.old_size)
    if args.from_results:  # render a saved run again (the report's wording changed)
        saved = json.loads(args.from_results.read_text())
        SIZES = tuple(saved["sizes"])
        cells = {
            (code, int(size), case): Cell(
                runs["seconds"], [collections.Counter(c) for c in runs["calls"]]
            )
            for code, size, case, runs in saved["cells"]
        }
        fill = {int(size): seconds for size, seconds in saved["fill"].items()}
        load = (tuple(saved["load"][0]), tuple(saved["load"][1]))
        table = report(
            cells, saved["rounds"], load, fill, tuple(saved["old_sizes"]), saved["old_rev"]
        )
        print(table)
        if not args.no_write:
            update_section("lookup", TITLE, table)
        return
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="mimsreg-bench-") as folder,
        old_tree(args.old_rev) as old,
        moto_server() as moto,
        strict_aws_proxy(moto.url) as strict,
        latency_proxy(strict.url, DELAY_MS) as proxy,
    ):
        create_buckets(moto.url, [REGION], BUCKET)
        fill = {}
        for size in sorted(set(SIZES[1:]) | {args.old_size}):
            fill[size] = populate(Path(folder), group_of(size), size, strict.url)
            print(f"filled {group_of(size)}: {size} versions in {fill[size]:.0f} s", flush=True)
        trees = {"new": REPO, "old": old}
        cells = measure(args.rounds, Path(folder), trees, strict, proxy.url, old_sizes)
        if strict.refusals or strict.errors:
            raise RuntimeError(f"strict proxy: {strict.refusals} {strict.errors}")
    load = (load_before, os.getloadavg())
    saved = {
        "sizes": SIZES,
        "old_sizes": old_sizes,
        "old_rev": args.old_rev,
        "rounds": args.rounds,
        "load": load,
        "fill": fill,
        "cells": [
            [code, size, case, {"seconds": cell.seconds, "calls": cell.calls}]
            for (code, size, case), cell in cells.items()
        ],
    }
    RESULTS.write_text(json.dumps(saved, indent=1))
    table = report(cells, args.rounds, load, fill, old_sizes, args.old_rev)
    print(table)
    if not args.no_write:
        update_section("lookup", TITLE, table)


if __name__ == "__main__":
    main()
