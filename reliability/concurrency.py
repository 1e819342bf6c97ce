"""Concurrency: 8 ``mimsreg register`` processes at the same instant, per backend; check what held.

Run: ``make reliability-concurrency`` (or ``.venv/bin/python reliability/concurrency.py [--races 3]
[--processes 8] [--backends local,sagemaker]``). Writes the ``concurrency`` section of
docs/reliability.md and exits 1 when an invariant broke. To measure another revision's code, put
its ``src`` first on ``PYTHONPATH`` (the runner is this one; the registering code is that one).

Per backend (the local SQLite inventory in one shared ``MIMSREG_HOME``; SageMaker on a moto server
on 127.0.0.1) and per race, in a fresh model package group, in three regions:

- *same model*: ``--processes`` processes register the same archive with the same config: every
  process must exit 0 and report the same version in each region, and each region must hold
  exactly one version;
- *different models*: ``--processes`` processes register as many different archives: every
  process must exit 0 with its own version, and each region must hold that many versions,
  numbered without a gap or a repeat.

Each child imports mimsreg first, then waits for a start time common to all, so the registrations
themselves (not the interpreters' start-up) overlap. Afterwards every version's artifact is read
back and its SHA-256 checked (``reliability/crash.py``'s checks).
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _aws import machine_facts, moto_server, use_fake_credentials  # noqa: E402
from reliability.approval_race import approval_race, summary_line  # noqa: E402
from reliability.crash import (  # noqa: E402
    CHILD,
    MIB,
    REGIONS,
    LocalTarget,
    SageMakerTarget,
    Target,
    Verdict,
    config_file,
    tally,
)
from reliability.local_checks import check_local_inventory  # noqa: E402
from tests.support.helpers import write_model_archive  # noqa: E402

SAME, DIFFERENT = "same model", "different models"


@dataclass
class Race:
    backend: str
    scenario: str
    number: int
    exit_codes: collections.Counter[int] = field(default_factory=collections.Counter)
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    versions: dict[str, list[int]] = field(default_factory=dict)  # region → version numbers
    reported: dict[str, set[int]] = field(default_factory=dict)  # region → versions reported
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def race(
    target: Target,
    scenario: str,
    number: int,
    processes: int,
    rng: random.Random,
    expected: set[tuple[str, str, int]],
) -> Race:
    work = target.scratch / "work" / f"{scenario.split()[0]}-{number}"
    work.mkdir(parents=True)
    group = f"race-{scenario.split()[0]}-{number}"
    shared = write_model_archive(work / "model.tar.gz", rng.randbytes(MIB))
    config = config_file(work, number, group)
    models = [
        shared
        if scenario == SAME
        else write_model_archive(work / f"model-{i}.tar.gz", rng.randbytes(MIB))
        for i in range(processes)
    ]
    start = time.time() + 4.0  # every child has imported mimsreg by then, even on a busy box
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                str(start),
                "register",
                str(model),
                "--config",
                str(config),
                "--region",
                ",".join(REGIONS),
                *target.inventory_args(),
                "--json",
            ],
            env=target.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for model in models
    ]
    outcome = Race(target.name, scenario, number)
    answers: list[list[dict[str, Any]]] = []
    for child in children:
        stdout, stderr = child.communicate(timeout=900)
        outcome.exit_codes[child.returncode] += 1
        try:
            results = json.loads(stdout)
        except ValueError:
            results = []
        if child.returncode != 0 or not isinstance(results, list):
            outcome.problems.append(f"exit {child.returncode}: {(stdout + stderr)[-300:]}")
            results = results if isinstance(results, list) else []
        answers.append(results)
        for result in results:
            outcome.statuses[str(result.get("status"))] += 1
            if result.get("version") is not None:
                region, version = str(result["region"]), int(result["version"])
                outcome.reported.setdefault(region, set()).add(version)
                expected.add((region, group, version))
    outcome.seconds = time.time() - start
    verdict = Verdict(target.name)
    in_group = [v for v in target.versions(verdict) if v[1] == group]
    for region in REGIONS:
        outcome.versions[region] = sorted(v[2] for v in in_group if v[0] == region)
    want = 1 if scenario == SAME else processes
    for region, numbers in outcome.versions.items():
        if numbers != list(range(1, want + 1)):
            outcome.problems.append(f"{region}: versions {numbers}, expected 1..{want}")
        if outcome.reported.get(region, set()) != set(numbers):
            outcome.problems.append(
                f"{region}: reported {sorted(outcome.reported.get(region, set()))}, "
                f"stored {numbers}"
            )
    if scenario == SAME:
        per_process = {
            json.dumps(sorted((r["region"], r["version"], r["id"]) for r in results))
            for results in answers
        }
        if len(per_process) != 1:
            outcome.problems.append(f"{len(per_process)} different answers for the same model")
        created = outcome.statuses["created"]
        if created != len(REGIONS):
            outcome.problems.append(f"{created} created, expected one per region")
    elif outcome.statuses["created"] != processes * len(REGIONS):
        outcome.problems.append(f"{outcome.statuses['created']} created of {processes * 3}")
    return outcome


def run_backend(
    target: Target, races: int, processes: int, seed: int, log: Any = print
) -> tuple[list[Race], Verdict]:
    rng = random.Random(f"{seed}:{target.name}")
    expected: set[tuple[str, str, int]] = set()
    done: list[Race] = []
    for scenario in (SAME, DIFFERENT):
        for number in range(races):
            outcome = race(target, scenario, number, processes, rng, expected)
            done.append(outcome)
            log(
                f"{target.name} {scenario} #{number}: exits {dict(outcome.exit_codes)} "
                f"statuses {dict(outcome.statuses)} versions {outcome.versions} "
                f"{'ok' if not outcome.problems else outcome.problems}"
            )
    verdict = Verdict(target.name)
    tally(verdict, target, target.versions(verdict), expected)
    for outcome in done:
        verdict.problems.extend(
            f"{outcome.scenario} #{outcome.number}: {p}" for p in outcome.problems
        )
    local_approvals_and_documents(target, races, processes, rng, verdict, log)
    sagemaker_approvals_and_documents(target, races, processes, rng, verdict, log)
    return done, verdict


def local_approvals_and_documents(
    target: Target, races: int, processes: int, rng: random.Random, verdict: Verdict, log: Any
) -> None:
    """Local: concurrent approvals of one version, then every version's record, schema and
    approval history read back (``approval_race.py``, ``local_checks.py``)."""
    if not isinstance(target, LocalTarget):
        return
    approvals = [approval_race(target, number, processes, rng) for number in range(races)]
    for outcome in approvals:
        log(f"{target.name} approvals #{outcome.number}: {outcome.problems or 'ok'}")
        verdict.problems.extend(f"approvals #{outcome.number}: {p}" for p in outcome.problems)
    verdict.approvals = summary_line(approvals)
    found = check_local_inventory(target.home)
    verdict.documents = f"{found.versions} records and schemas, {found.events} approval events"
    verdict.problems.extend(f"documents: {problem}" for problem in found.problems)


def sagemaker_approvals_and_documents(
    target: Target, races: int, processes: int, rng: random.Random, verdict: Verdict, log: Any
) -> None:
    """SageMaker: concurrent approvals of one version, then every version's record, schema and
    approval history read back from S3 (``reliability/sagemaker_checks.py``)."""
    if not isinstance(target, SageMakerTarget):
        return
    from reliability.sagemaker_checks import (
        approvals_line,
        check_sagemaker_documents,
        sagemaker_approval_race,
        through_strict_layer,
    )

    with through_strict_layer(target) as strict:  # see sagemaker_checks: moto's gaps
        approvals = [sagemaker_approval_race(strict, n, processes, rng) for n in range(races)]
        found = check_sagemaker_documents(strict)
    for outcome in approvals:
        log(f"{target.name} approvals #{outcome.number}: {outcome.problems or 'ok'}")
        verdict.problems.extend(f"approvals #{outcome.number}: {p}" for p in outcome.problems)
    verdict.approvals = approvals_line(approvals)
    verdict.documents = found.line()
    verdict.problems.extend(f"documents: {problem}" for problem in found.problems)


def report(runs: dict[str, tuple[list[Race], Verdict]], processes: int, races: int) -> str:
    lines = [
        f"`make reliability-concurrency` (`reliability/concurrency.py --races {races} "
        f"--processes {processes}`). {machine_facts()}.",
        "",
        " ".join(METHOD.format(processes=processes, races=races).split()),
        "",
        "| backend | scenario | races | processes | exit codes | created | unchanged "
        "| versions per region (each race) | every process the same answer | held |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for backend, (done, _) in runs.items():
        for scenario in (SAME, DIFFERENT):
            mine = [r for r in done if r.scenario == scenario]
            exits: collections.Counter[int] = collections.Counter()
            statuses: collections.Counter[str] = collections.Counter()
            for outcome in mine:
                exits.update(outcome.exit_codes)
                statuses.update(outcome.statuses)
            counts = sorted({len(v) for r in mine for v in r.versions.values()})
            same = (
                "yes"
                if scenario == SAME
                and not any("different answers" in p for r in mine for p in r.problems)
                else ("n/a" if scenario == DIFFERENT else "NO")
            )
            lines.append(
                f"| {backend} | {scenario} | {len(mine)} | {processes} "
                f"| {', '.join(f'{c}: {n}' for c, n in sorted(exits.items()))} "
                f"| {statuses['created']} | {statuses['unchanged']} "
                f"| {', '.join(str(c) for c in counts)} | {same} "
                f"| {'yes' if not any(r.problems for r in mine) else 'NO'} |"
            )
    lines += ["", "Read back afterwards:", ""]
    for backend, (_, verdict) in runs.items():
        lines.append(
            f"- {backend}: {verdict.versions} versions, {verdict.duplicates} duplicate versions, "
            f"{verdict.missing_versions} reported versions absent, {verdict.without_artifact} "
            f"artifacts missing or not verifying; SQLite integrity_check {verdict.integrity}."
        )
    lines += ["", "Concurrent approvals, then records, schemas and histories read back:", ""]
    for backend, (_, verdict) in runs.items():
        lines.append(f"- {backend}: {verdict.approvals}; {verdict.documents}.")
    problems = [f"{b}: {p}" for b, (_, v) in runs.items() for p in v.problems]
    lines += ["", "Problems:", ""] + ([f"- {p}" for p in problems] or ["- none."])
    return "\n".join(lines)


METHOD = """
Per backend (local: one shared `MIMSREG_HOME`, SQLite; sagemaker: a moto server on 127.0.0.1)
and race, a fresh model package group in us-east-1, eu-west-1 and ap-southeast-2, and
{processes} `mimsreg register --json` processes that import mimsreg, then start together at a
common instant. *Same model*: one 1 MiB archive and config for all; every process must exit 0 with
the same version in each region, each region must hold one version. *Different models*: each
process its own archive; every process must exit 0, each region must hold versions 1..{processes}
exactly as reported. Every artifact is then read back and its SHA-256 checked. Local, then:
{processes} processes approve or reject one fresh version at once ({races} times); every event
must be kept once, in order, and the status must be the last event's; every version's record,
variable schema and approval history is read back from SQLite. SageMaker, likewise, through the
strict AWS layer of the tests (moto's conditional writes are not atomic): the history in S3 must
keep every decision once, in time order, and SageMaker's status and description must be the last
event's; every version's record, schema and approval history is read back from S3.
"""


def summary_of(
    runs: dict[str, tuple[list[Race], Verdict]], processes: int
) -> tuple[str, str, bool]:
    races = collections.Counter(r.scenario for done, _ in runs.values() for r in done)
    what = (
        f"{races[SAME]} races of {processes} processes registering the same model and "
        f"{races[DIFFERENT]} registering {processes} different models, across "
        f"{', '.join(runs)}; 3 regions"
    )
    versions = sum(v.versions for _, v in runs.values())
    duplicates = sum(v.duplicates for _, v in runs.values())
    held = all(v.held for _, v in runs.values())
    invariants = (
        f"same model: one version, the same answer for all; different: {processes} versions, "
        f"no error; {versions} versions verified, {duplicates} duplicates"
    )
    return what, invariants, held


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--races", type=int, default=3)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--backends", default="local,sagemaker")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--no-report", action="store_true", help="do not touch docs/")
    options = parser.parse_args(argv)
    use_fake_credentials()
    runs: dict[str, tuple[list[Race], Verdict]] = {}
    with tempfile.TemporaryDirectory(prefix="mimsreg-concurrency-") as folder:
        scratch = Path(folder)
        for backend in options.backends.split(","):
            if backend == "local":
                target: Target = LocalTarget(scratch / backend)
                runs[backend] = run_backend(target, options.races, options.processes, options.seed)
            else:
                with moto_server() as server:
                    target = SageMakerTarget(scratch / backend, server.url)
                    runs[backend] = run_backend(
                        target, options.races, options.processes, options.seed
                    )
    body = report(runs, options.processes, options.races)
    print(body)
    what, invariants, held = summary_of(runs, options.processes)
    if not options.no_report:
        from reliability._report import update_section, update_summary_row

        update_section("concurrency", "Concurrency: 8 processes at once", body)
        update_summary_row("concurrency", "make reliability-concurrency", what, invariants, held)
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
