"""Faults: register through a proxy failing a share of S3 and SageMaker requests; check what held.

Run: ``make reliability-faults`` (or ``.venv/bin/python reliability/faults.py [--registrations 100]
[--rate 0.2] [--ramp 0.3,0.4,0.5,0.6,0.7,0.8,0.9] [--ramp-registrations 6] [--seed N]``). Writes
the ``faults`` section of docs/reliability.md and exits 1 when an invariant broke.

A moto server on 127.0.0.1, ``reliability/fault_proxy.py`` in front of it, and ``mimsreg register
--inventory sagemaker`` children whose ``AWS_ENDPOINT_URL`` is the proxy, in three regions, with
mimsreg's default retry settings. Registrations come in pairs: the first of a pair registers a new
random archive (every fifth pair one of 20 MiB, so multipart upload and copy are faulted too), the
second repeats it exactly (every region must answer ``unchanged``); ten pairs share a model package
group. The ramp repeats the same at higher rates on fresh groups.

Afterwards, read straight from moto (not through the proxy): no identity has two versions in a
region, every version a registration reported exists, every artifact's SHA-256 matches the digest
its key and its version record name (``reliability/crash.py``'s checks). Under the main rate every
registration must end ``created`` or ``unchanged`` everywhere; in the ramp a registration may fail,
but only with exit code 1 and an error naming the region, never with a wrong record.
"""

from __future__ import annotations

import argparse
import collections
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
from reliability.crash import (  # noqa: E402
    MIB,
    REGIONS,
    SageMakerTarget,
    Verdict,
    check_sagemaker_documents,
    config_file,
    results_of,
    tally,
)
from reliability.fault_proxy import KINDS, FaultProxyServer, fault_proxy  # noqa: E402

MIMSREG = Path(sys.executable).parent / "mimsreg"
RAMP = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass
class RateRun:
    """The registrations made at one fault rate."""

    rate: float
    registrations: int = 0
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    exit_codes: collections.Counter[int] = field(default_factory=collections.Counter)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    examples: dict[str, str] = field(default_factory=dict)  # error class → one message
    requests: int = 0
    faults: collections.Counter[str] = field(default_factory=collections.Counter)
    seconds: float = 0.0
    unclear: list[str] = field(default_factory=list)  # failures without a clear error
    failed_runs: list[tuple[Path, Path]] = field(default_factory=list)  # (model, config)

    @property
    def failed(self) -> int:
        return sum(n for status, n in self.statuses.items() if status not in OK_STATUSES)


OK_STATUSES = ("created", "unchanged")


def error_class(message: str) -> str:
    """A short name for a failure's message, to count like failures together."""
    for needle, name in (
        ("reached max retries", "retries exhausted"),
        ("Could not connect", "could not connect"),
        ("Connection was closed", "connection closed"),
        ("ConnectionClosedError", "connection closed"),
        ("Read timeout", "read timeout"),
        ("was still held after", "create lock: waited too long"),
        ("ran out before the version was created", "create lock: lease lost"),
        ("SlowDown", "S3 SlowDown"),
        ("Throttling", "throttling"),
        ("InternalError", "S3 InternalError"),
        ("InternalFailure", "SageMaker InternalFailure"),
    ):
        if needle in message:
            return name
    return message[:80]


def register(
    model: Path, config: Path, env: dict[str, str], expected: set[tuple[str, str, int]]
) -> tuple[int, list[dict[str, Any]], str]:
    """``mimsreg register`` once through the proxy: exit code, per-region results, stderr."""
    process = subprocess.run(
        [
            str(MIMSREG),
            "register",
            str(model),
            "--config",
            str(config),
            "--region",
            ",".join(REGIONS),
            "--inventory",
            "sagemaker",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    results = results_of_text(process.stdout)
    for result in results:
        if result.get("status") in OK_STATUSES:
            expected.add((str(result["region"]), str(result["group"]), int(result["version"])))
    return process.returncode, results, process.stderr


def results_of_text(stdout: str) -> list[dict[str, Any]]:
    from reliability.crash import Run

    return results_of(Run(0, 0.0, stdout, []))


def run_rate(
    proxy: FaultProxyServer,
    rate: float,
    registrations: int,
    work: Path,
    env: dict[str, str],
    rng: random.Random,
    expected: set[tuple[str, str, int]],
    label: str,
    log: Any = print,
) -> RateRun:
    """``registrations`` registrations (in pairs: new, then the same again) at ``rate``."""
    proxy.rate = rate
    proxy.reset_counts()
    outcome = RateRun(rate)
    started = time.monotonic()
    model = work / "model.tar.gz"
    config = work / "config.json"
    for number in range(registrations):
        if number % 2 == 0:
            from tests.support.helpers import write_model_archive

            size = 20 * MIB if number % 10 == 0 else MIB
            model = write_model_archive(work / f"{label}-{number}.tar.gz", rng.randbytes(size))
            config = config_file(work, number, f"faults-{label}-{number // 20:02d}")
        returncode, results, stderr = register(model, config, env, expected)
        if returncode != 0:
            outcome.failed_runs.append((model, config))
        outcome.registrations += 1
        outcome.exit_codes[returncode] += 1
        statuses = [str(result.get("status")) for result in results]
        for result in results:
            outcome.statuses[str(result.get("status"))] += 1
            if result.get("status") not in OK_STATUSES:
                message = str(result.get("error") or "")
                outcome.errors[error_class(message)] += 1
                outcome.examples.setdefault(error_class(message), message)
                if not message or returncode != 1:
                    outcome.unclear.append(f"exit {returncode}: {result}")
        if len(results) != len(REGIONS):
            # No per-region answer at all: the error is on stderr; it must be a clear one.
            outcome.errors[error_class(stderr.strip())] += 1
            outcome.examples.setdefault(error_class(stderr.strip()), stderr.strip()[-300:])
            if returncode not in (1, 2) or "Traceback" in stderr or not stderr.strip():
                outcome.unclear.append(f"exit {returncode}: {stderr.strip()[-300:]}")
        if "Traceback" in stderr:
            outcome.unclear.append(f"traceback: {stderr.strip()[-300:]}")
        log(f"{label} rate {rate:.0%} #{number:03d}: exit {returncode} {statuses}")
    outcome.seconds = time.monotonic() - started
    outcome.requests = sum(proxy.requests.values())
    outcome.faults = collections.Counter(proxy.faults)
    return outcome


@dataclass
class Recovery:
    """The failed registrations of every rate, run again without faults."""

    runs: int = 0
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    exit_codes: collections.Counter[int] = field(default_factory=collections.Counter)


def recover(
    proxy: FaultProxyServer,
    failed: list[tuple[Path, Path]],
    env: dict[str, str],
    expected: set[tuple[str, str, int]],
) -> Recovery:
    """A failure must leave nothing a plain re-run cannot complete: each failed registration is
    run again with the faults off, and must end ``created`` or ``unchanged`` everywhere (what
    its failed run did make is then reported, so every version is accounted for)."""
    proxy.rate = 0.0
    recovery = Recovery()
    for model, config in failed:
        returncode, results, _ = register(model, config, env, expected)
        recovery.runs += 1
        recovery.exit_codes[returncode] += 1
        recovery.statuses.update(str(result.get("status")) for result in results)
    return recovery


def check(target: SageMakerTarget, expected: set[tuple[str, str, int]]) -> Verdict:
    verdict = Verdict("sagemaker")
    tally(verdict, target, target.versions(verdict), expected)
    check_sagemaker_documents(target, verdict)
    return verdict


def summary_of(
    main_run: RateRun, verdict: Verdict, ramp: list[RateRun], recovery: Recovery
) -> tuple[str, str, bool]:
    """The faults row of the summary table."""
    runs = (
        f"{main_run.registrations} registrations x {len(REGIONS)} regions at "
        f"{main_run.rate:.0%} ({main_run.requests:,} requests, "
        f"{sum(main_run.faults.values()):,} faulted); ramp "
        f"{', '.join(f'{r.rate:.0%}' for r in ramp)}: {sum(r.registrations for r in ramp)} more"
    )
    held = verdict.held and not main_run.failed and not any(r.unclear for r in ramp)
    held = held and not main_run.unclear and recovered(recovery)
    invariants = (
        f"at {main_run.rate:.0%}: every registration created/unchanged; everywhere: "
        f"{verdict.duplicates} duplicate versions, {verdict.missing_versions} missing, "
        f"{verdict.versions} versions digest-verified; every ramp failure a clear error "
        f"(exit 1, the region named), never a wrong record; the {recovery.runs} failed "
        "registrations, re-run without faults, all completed"
    )
    return runs, invariants, held


def recovered(recovery: Recovery) -> bool:
    return set(recovery.statuses) <= set(OK_STATUSES) and set(recovery.exit_codes) <= {0}


def report(
    main_run: RateRun,
    verdict: Verdict,
    ramp: list[RateRun],
    recovery: Recovery,
    seed: int,
    argv: str,
) -> str:
    def faults_cell(run: RateRun) -> str:
        total = sum(run.faults.values())
        share = total / run.requests if run.requests else 0.0
        kinds = ", ".join(f"{kind} {run.faults[kind]}" for kind in KINDS)
        return f"{total:,} ({share:.1%}): {kinds}"

    lines = [
        f"`make reliability-faults` (`reliability/faults.py {argv}`, seed {seed}). "
        f"{machine_facts()}.",
        "",
        " ".join(METHOD.split()),
        "",
        "| rate | registrations x regions | created | unchanged | failed | exit codes "
        "| requests | faulted | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in [main_run, *ramp]:
        exits = ", ".join(f"{code}: {n}" for code, n in sorted(run.exit_codes.items()))
        lines.append(
            f"| {run.rate:.0%} | {run.registrations} x {len(REGIONS)} "
            f"| {run.statuses['created']} | {run.statuses['unchanged']} | {run.failed} "
            f"| {exits} | {run.requests:,} | {faults_cell(run)} | {run.seconds:.0f} |"
        )
    lines += [
        "",
        f"Then the {recovery.runs} registrations that failed, run again with the faults off: "
        f"{recovery.statuses['created']} region results created, "
        f"{recovery.statuses['unchanged']} unchanged (made by the failed run), "
        f"{sum(n for k, n in recovery.statuses.items() if k not in OK_STATUSES)} failed.",
        "",
        "Read back from moto after every rate and the re-runs: "
        f"{verdict.versions} versions, {verdict.identities} identities, "
        f"{verdict.duplicates} duplicate versions, {verdict.missing_versions} reported versions "
        f"absent, {verdict.without_artifact} artifacts missing or not verifying; "
        f"{verdict.documents}.",
        "",
        "How the failures failed (per region result):",
        "",
    ]
    failures = [(run.rate, error, n) for run in ramp for error, n in run.errors.items()]
    failures += [(main_run.rate, error, n) for error, n in main_run.errors.items()]
    if failures:
        lines += ["| rate | error | region results |", "|---|---|---|"]
        lines += [f"| {rate:.0%} | {error} | {n} |" for rate, error, n in sorted(failures)]
        examples: dict[str, str] = {}
        for run in [main_run, *ramp]:
            for error, message in run.examples.items():
                examples.setdefault(error, message)
        lines += ["", "One message of each kind, as the user sees it:", ""]
        lines += [
            f"- {error}: `{' '.join(message.split())[:300]}`"
            for error, message in sorted(examples.items())
        ]
    else:
        lines.append("- none failed.")
    problems = verdict.problems + [u for run in [main_run, *ramp] for u in run.unclear]
    if main_run.failed:
        problems.append(f"{main_run.failed} region result(s) failed at {main_run.rate:.0%}")
    if not recovered(recovery):
        problems.append(f"re-runs without faults did not all complete: {dict(recovery.statuses)}")
    lines += ["", "Problems:", ""] + ([f"- {p}" for p in problems] or ["- none."])
    return "\n".join(lines)


METHOD = """
A moto server on 127.0.0.1, `reliability/fault_proxy.py` in front of it, each registration a
`mimsreg register --inventory sagemaker --region us-east-1,eu-west-1,ap-southeast-2` process
talking to the proxy, with mimsreg's default retries. Each request is faulted with the rate's
probability, the fault drawn evenly from: 500 InternalError/InternalFailure, throttling (S3 503
SlowDown, SageMaker ThrottlingException), connection reset before the request reaches moto,
connection reset after moto executed it (the answer lost), 0.2-1.5 s delay. Registrations come in
pairs: a new random archive (1 MiB; every fifth pair 20 MiB, multipart), then the same again
(must be `unchanged`). Checks read moto directly: one version per identity and region, every
reported version present, every artifact's SHA-256 equal to the digest in its key and in its
version's metadata; every version's record, schema and approval history in S3
(`reliability/sagemaker_checks.py`).
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--registrations", type=int, default=100)
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--ramp", default=",".join(str(r) for r in RAMP), help="'' for none")
    parser.add_argument("--ramp-registrations", type=int, default=6)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--no-report", action="store_true", help="do not touch docs/")
    options = parser.parse_args(argv)
    ramp_rates = [float(rate) for rate in options.ramp.split(",") if rate.strip()]
    use_fake_credentials()
    rng = random.Random(options.seed)
    expected: set[tuple[str, str, int]] = set()
    with (
        tempfile.TemporaryDirectory(prefix="mimsreg-faults-") as folder,
        moto_server() as server,
    ):
        scratch = Path(folder)
        target = SageMakerTarget(scratch, server.url)  # its checks talk to moto directly
        work = scratch / "work"
        work.mkdir()
        with fault_proxy(server.url, options.rate, options.seed) as proxy:
            env = {**target.env(), "AWS_ENDPOINT_URL": proxy.url}
            main_run = run_rate(
                proxy, options.rate, options.registrations, work, env, rng, expected, "main"
            )
            ramp: list[RateRun] = [
                run_rate(
                    proxy,
                    rate,
                    options.ramp_registrations,
                    work,
                    env,
                    rng,
                    expected,
                    f"ramp{round(rate * 100)}",
                )
                for rate in ramp_rates
            ]
            failed = [run for outcome in [main_run, *ramp] for run in outcome.failed_runs]
            recovery = recover(proxy, failed, env, expected)
        verdict = check(target, expected)
    shown = " ".join(sys.argv[1:] if argv is None else argv) or "(defaults)"
    body = report(main_run, verdict, ramp, recovery, options.seed, shown)
    print(body)
    runs, invariants, held = summary_of(main_run, verdict, ramp, recovery)
    if not options.no_report:
        from reliability._report import update_section, update_summary_row

        update_section("faults", "Faults: 500, 503 SlowDown, throttling, resets, delay", body)
        update_summary_row("faults", "make reliability-faults", runs, invariants, held)
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
