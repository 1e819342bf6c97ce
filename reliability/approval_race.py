"""Concurrent approvals: N ``mimsreg approve`` / ``approve --reject`` processes on one version at
the same instant; every event must be kept, in order, and the status must be the last event's.

Backend-agnostic (through the CLI and ``show --json``): ``concurrency.py`` runs it per backend.
"""

from __future__ import annotations

import collections
import json
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field

from reliability.crash import CHILD, REGIONS, Target, config_file
from tests.support.helpers import write_model_archive


@dataclass
class ApprovalRace:
    backend: str
    number: int
    processes: int
    exit_codes: collections.Counter[int] = field(default_factory=collections.Counter)
    events: int = 0  # events in the history besides the registration
    problems: list[str] = field(default_factory=list)


def _run(target: Target, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, "0", *args, *target.inventory_args()],
        env=target.env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def approval_race(target: Target, number: int, processes: int, rng: random.Random) -> ApprovalRace:
    """Register a fresh version, then ``processes`` approvals and rejections of it at once."""
    outcome = ApprovalRace(target.name, number, processes)
    work = target.scratch / "work" / f"approvals-{number}"
    work.mkdir(parents=True)
    group = f"approval-race-{number}"
    model = write_model_archive(work / "model.tar.gz", rng.randbytes(64 * 1024))
    region = REGIONS[0]
    registered = _run(
        target,
        "register",
        str(model),
        "--config",
        str(config_file(work, number, group)),
        "--region",
        region,
        "--json",
    )
    if registered.returncode != 0:
        outcome.problems.append(f"register exited {registered.returncode}: {registered.stderr}")
        return outcome
    version = json.loads(registered.stdout)[0]["version"]
    reference = f"{group}/{version}"
    notes = {f"race {number} process {i}": rng.random() < 0.5 for i in range(processes)}
    start = time.time() + 4.0  # every child has imported mimsreg by then, even on a busy box
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                str(start),
                "approve",
                reference,
                "--region",
                region,
                "--note",
                note,
                "--actor",
                f"actor-{i}",
                *(["--reject"] if reject else []),
                *target.inventory_args(),
            ],
            env=target.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, (note, reject) in enumerate(notes.items())
    ]
    for child in children:
        _, stderr = child.communicate(timeout=600)
        outcome.exit_codes[child.returncode] += 1
        if child.returncode != 0:
            outcome.problems.append(f"approve exited {child.returncode}: {stderr[-300:]}")
    shown = _run(target, "show", reference, "--region", region, "--json")
    if shown.returncode != 0:
        outcome.problems.append(f"show exited {shown.returncode}: {shown.stderr[-300:]}")
        return outcome
    judge(json.loads(shown.stdout), notes, outcome)
    return outcome


def judge(shown: dict[str, object], notes: dict[str, bool], outcome: ApprovalRace) -> None:
    """Every approval kept once, the times in order, the status the last event's."""
    history = shown.get("approval_history")
    if not isinstance(history, list) or not history:
        outcome.problems.append("no approval history")
        return
    raced = [event for event in history if event.get("note") in notes]
    outcome.events = len(raced)
    kept = collections.Counter(event["note"] for event in raced)
    lost = sorted(set(notes) - set(kept))
    doubled = sorted(note for note, count in kept.items() if count > 1)
    if lost:
        outcome.problems.append(f"{len(lost)} approval event(s) lost: {lost[:3]}")
    if doubled:
        outcome.problems.append(f"approval event(s) recorded twice: {doubled[:3]}")
    for event in raced:
        wanted = "Rejected" if notes[event["note"]] else "Approved"
        if event.get("status") != wanted:
            outcome.problems.append(f"{event['note']}: status {event.get('status')!r}")
    times = [str(event.get("at")) for event in history]
    if times != sorted(times):
        outcome.problems.append(f"history out of order: {times}")
    if shown.get("approval_status") != history[-1].get("status"):
        outcome.problems.append(
            f"status {shown.get('approval_status')!r} is not the last event's "
            f"{history[-1].get('status')!r}"
        )


def summary_line(races: list[ApprovalRace]) -> str:
    """One line for the concurrency report."""
    if not races:
        return "not run"
    exits = collections.Counter[int]()
    for race in races:
        exits.update(race.exit_codes)
    problems = sum(len(race.problems) for race in races)
    return (
        f"{len(races)} races of {races[0].processes} processes approving or rejecting one "
        f"version: exit codes {dict(sorted(exits.items()))}, "
        f"{sum(race.events for race in races)} of {sum(race.processes for race in races)} "
        f"events kept, {problems} problem(s) (lost, doubled or out-of-order events, a status "
        "other than the last event's)"
    )
