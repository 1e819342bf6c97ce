"""Moves: the local inventory moved between runs, then `gc --older-than 0s`; check what held.

Run: ``make reliability-moves`` (or ``.venv/bin/python reliability/moves.py [--iterations 24]
[--seed N]``). Writes the ``moves`` section of docs/reliability.md and exits 1 when an invariant
broke. To measure another revision's code, put its ``src`` first on ``PYTHONPATH`` (the runner
is this one; the registering code is that one).

Each iteration, in a fresh scratch folder: ``mimsreg register`` (a new random archive, or the
same archive with another description: a new version whose artifact is found in place), every
third iteration an ``approve`` or ``approve --reject``; then the whole inventory folder is moved
to a new place and reached there one of three ways, in turn: ``MIMSREG_HOME`` naming the new
folder, ``MIMSREG_HOME`` naming a symlink to it, ``--inventory sqlite:///<new>/inventory.db``;
then ``mimsreg gc --older-than 0s`` (everything unreferenced goes, whatever its age), and the
checks: every version ``show``s, every artifact and payload exists and hashes to its digest, and
each version's record, variable schema and approval history hold (``local_checks.py``).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _aws import machine_facts  # noqa: E402
from reliability.crash import config_file  # noqa: E402
from reliability.local_checks import check_local_inventory, sha256_of  # noqa: E402
from tests.support.helpers import write_model_archive  # noqa: E402

CLI = "from mimsreg.cli import cli; cli(prog_name='mimsreg')"
REGIONS = ("us-east-1", "eu-west-1")
RENAMED, SYMLINKED, SQLITE_URI = "renamed", "symlinked home", "sqlite:/// URI"
WAYS = (RENAMED, SYMLINKED, SQLITE_URI)


@dataclass
class Outcome:
    iterations: int = 0
    moves: collections.Counter[str] = field(default_factory=collections.Counter)
    registrations: int = 0
    approvals: int = 0
    gc_removed: collections.Counter[str] = field(default_factory=collections.Counter)
    lost: set[str] = field(default_factory=set)  # live files missing or changed after a gc
    live: int = 0  # distinct files the versions record, at the end

    @property
    def live_files_lost(self) -> int:
        return len(self.lost)

    shows_failed: int = 0
    versions: int = 0
    files: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return not self.problems


class Store:
    """Where the inventory is now and how the next command reaches it."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.folder = scratch / "place-0" / "inventory"
        self.way = RENAMED
        self.moves = 0

    def env(self) -> dict[str, str]:
        home = self.scratch / "home-link" if self.way == SYMLINKED else self.folder
        return {**os.environ, "MIMSREG_HOME": str(home), "TMPDIR": str(self.scratch / "tmp")}

    def args(self) -> list[str]:
        if self.way == SQLITE_URI:
            return ["--inventory", f"sqlite://{self.folder / 'inventory.db'}"]
        return []

    def move(self, way: str) -> None:
        self.moves += 1
        target = self.scratch / f"place-{self.moves}" / "inventory"
        target.parent.mkdir(parents=True)
        shutil.move(str(self.folder), str(target))
        shutil.rmtree(self.folder.parent)  # nothing is left where it was
        self.folder, self.way = target, way
        link = self.scratch / "home-link"
        if link.is_symlink():
            link.unlink()
        if way == SYMLINKED:
            link.symlink_to(self.folder, target_is_directory=True)


def mimsreg(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args, *store.args()],
        env=store.env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def live_files(folder: Path) -> set[str]:
    """``<digest>/<file>`` of each artifact and payload a version records (read from SQLite;
    old records hold absolute URIs, whose tail is the same)."""
    connection = sqlite3.connect(f"file:{folder / 'inventory.db'}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT artifact_uri, payload_uri FROM versions").fetchall()
    finally:
        connection.close()
    return {uri.rsplit("artifacts/sha256/", 1)[-1] for row in rows for uri in row if uri}


def plant_orphan(folder: Path, rng: random.Random) -> str:
    """A staged artifact no version records (as a killed registration leaves one): the gc that
    follows must remove it, so a gc that removes nothing cannot pass for a careful one."""
    content = rng.randbytes(1024)
    key = f"{hashlib.sha256(content).hexdigest()}/model.tar.gz"
    path = folder / "artifacts" / "sha256" / key
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    return key


def digests_in(folder: Path) -> dict[str, str | None]:
    """``<digest>/<file>`` → SHA-256 of every file in the store at ``folder``."""
    store = folder / "artifacts" / "sha256"
    found = {}
    for path in sorted(store.glob("*/*")) if store.is_dir() else []:
        if not path.name.startswith(".incoming-"):
            found[path.relative_to(store).as_posix()] = sha256_of(path)
    return found


def one_iteration(
    number: int,
    store: Store,
    rng: random.Random,
    work: Path,
    state: dict[str, Any],
    outcome: Outcome,
) -> None:
    if number % 2 == 0 or "model" not in state:
        state["model"] = write_model_archive(
            work / f"model-{number}.tar.gz", rng.randbytes(64 * 1024)
        )
    config = config_file(work, number, "moves-model")
    registered = mimsreg(
        store,
        "register",
        str(state["model"]),
        "--config",
        str(config),
        "--region",
        ",".join(REGIONS),
        "--json",
    )
    if registered.returncode != 0:
        outcome.problems.append(
            f"#{number}: register exited {registered.returncode}: {registered.stderr[-300:]}"
        )
    else:
        outcome.registrations += 1
        state["last"] = json.loads(registered.stdout)[0]
    if number % 3 == 2 and "last" in state:
        flags = ["--reject"] if rng.random() < 0.5 else []
        last = state["last"]
        approved = mimsreg(
            store,
            "approve",
            f"{last['group']}/{last['version']}",
            "--region",
            last["region"],
            "--note",
            f"iteration {number}",
            *flags,
        )
        outcome.approvals += approved.returncode == 0
        if approved.returncode != 0:
            outcome.problems.append(
                f"#{number}: approve exited {approved.returncode}: {approved.stderr[-300:]}"
            )
    orphan = plant_orphan(store.folder, rng)
    before = digests_in(store.folder)
    way = WAYS[number % len(WAYS)]
    store.move(way)
    outcome.moves[way] += 1
    collected = mimsreg(store, "gc", "--older-than", "0s", "--json")
    if collected.returncode != 0:
        outcome.problems.append(
            f"#{number}: gc exited {collected.returncode}: {collected.stderr[-300:]}"
        )
    else:
        outcome.gc_removed.update(item["kind"] for item in json.loads(collected.stdout))
    after = digests_in(store.folder)
    if orphan in after:
        outcome.problems.append(f"#{number} ({way}): gc kept an artifact no version records")
    live = live_files(store.folder)
    lost = [
        key
        for key in live
        if after.get(key) is None
        or after[key] != before.get(key)
        or key.split("/")[0] != after[key]
    ]
    outcome.lost.update(lost)
    outcome.live = len(live)
    if lost:
        outcome.problems.append(
            f"#{number} ({way}): {len(lost)} live file(s) missing or changed after gc"
        )
    check_versions(number, store, outcome)


def check_versions(number: int, store: Store, outcome: Outcome) -> None:
    listed = mimsreg(store, "list", "--json")
    rows = json.loads(listed.stdout or "[]") if listed.returncode == 0 else []
    if listed.returncode != 0:
        outcome.problems.append(
            f"#{number}: list exited {listed.returncode}: {listed.stderr[-300:]}"
        )
    # The oldest and the newest version of each region (every one would take minutes).
    ends = {(r["region"], v) for r in rows for v in (1, max(x["version"] for x in rows))}
    for row in [r for r in rows if (r["region"], r["version"]) in ends]:
        shown = mimsreg(
            store, "show", f"{row['group']}/{row['version']}", "--region", row["region"]
        )
        if shown.returncode != 0:
            outcome.shows_failed += 1
            outcome.problems.append(
                f"#{number}: show {row['group']}/{row['version']} exited {shown.returncode}"
            )
    found = check_local_inventory(store.folder)
    outcome.versions, outcome.files, outcome.events = found.versions, found.files, found.events
    outcome.problems.extend(f"#{number}: {problem}" for problem in found.problems)


def run(scratch: Path, iterations: int, seed: int, log: Callable[[str], None] = print) -> Outcome:
    rng = random.Random(seed)
    store = Store(scratch)
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    work = scratch / "work"
    work.mkdir(parents=True, exist_ok=True)
    outcome = Outcome()
    state: dict[str, Any] = {}
    for number in range(iterations):
        started = time.monotonic()
        one_iteration(number, store, rng, work, state, outcome)
        outcome.iterations += 1
        log(
            f"moves #{number:02d} {store.way:15} {time.monotonic() - started:5.1f}s versions "
            f"{outcome.versions} lost {outcome.live_files_lost} problems {len(outcome.problems)}"
        )
    return outcome


METHOD = """
Per iteration, in {regions}: `mimsreg register` (a new random archive on even iterations, the
same archive with another description on odd ones: a new version whose artifact is found in
place), every third an `approve` or `approve --reject`; then the whole inventory folder is moved
to a new place (the old one removed) and reached there, in turn, through `MIMSREG_HOME`, through
`MIMSREG_HOME` naming a symlink to it, and through `--inventory sqlite:///<new>/inventory.db`;
then `mimsreg gc --older-than 0s` (everything unreferenced goes, whatever its age: a staged
artifact no version records is planted before each move, and must go). Checked after
every gc: every version `show`s; every artifact and payload it records is still in the store,
unchanged, and hashes to its content key; every version's record, variable schema and approval
history (read from SQLite, `reliability/local_checks.py`) hold.
"""


def report(outcome: Outcome, iterations: int, seed: int) -> str:
    moves = ", ".join(f"{way} {outcome.moves[way]}" for way in WAYS)
    removed = ", ".join(f"{k} {v}" for k, v in sorted(outcome.gc_removed.items())) or "nothing"
    lines = [
        f"`make reliability-moves` (`reliability/moves.py --iterations {iterations} --seed "
        f"{seed}`). {machine_facts()}.",
        "",
        " ".join(METHOD.format(regions=", ".join(REGIONS)).split()),
        "",
        "| iterations | moves | registrations | approvals | gc removed | live files lost (of) "
        "| `show` failures | versions at the end | files verified | approval events | held |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {outcome.iterations} | {moves} | {outcome.registrations} | {outcome.approvals} "
        f"| {removed} | {outcome.live_files_lost} ({outcome.live}) | {outcome.shows_failed} "
        f"| {outcome.versions} "
        f"| {outcome.files} | {outcome.events} | {'yes' if outcome.held else 'NO'} |",
        "",
        "Problems:",
        "",
    ]
    lines += [f"- {problem}" for problem in outcome.problems[:20]] or ["- none."]
    if len(outcome.problems) > 20:
        lines.append(f"- and {len(outcome.problems) - 20} more.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--iterations", type=int, default=24)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--no-report", action="store_true", help="do not touch docs/")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mimsreg-moves-") as folder:
        outcome = run(Path(folder), options.iterations, options.seed)
    body = report(outcome, options.iterations, options.seed)
    print(body)
    if not options.no_report:
        from reliability._report import update_section, update_summary_row

        update_section("moves", "Moves: the inventory moved between runs", body)
        update_summary_row(
            "moves",
            "make reliability-moves",
            f"{outcome.iterations} iterations, each a registration then a move "
            f"({', '.join(f'{w} {outcome.moves[w]}' for w in WAYS)}) and `gc --older-than 0s`; "
            f"{outcome.versions} versions at the end",
            f"{outcome.live_files_lost} live files lost, {outcome.shows_failed} `show` failures, "
            "every artifact and payload verified, records, schemas and approval histories hold",
            outcome.held,
        )
    return 0 if outcome.held else 1


if __name__ == "__main__":
    sys.exit(main())
