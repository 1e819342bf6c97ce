"""Archives that change during ``mimsreg register`` on SageMaker: what is stored is what was hashed.

Run: ``make reliability-modified`` (or ``.venv/bin/python reliability/modified_archive.py
[--iterations 10] [--seed N] [--size-mib 24]``). Writes the ``modified`` section of
docs/reliability.md and exits 1 when an invariant broke. To measure another revision's code, put
its ``src`` first on ``PYTHONPATH``.

A moto server on 127.0.0.1, three regions. Each iteration writes a new random archive over the
multipart threshold and registers it (``_traced_register.py``, the real CLI) while one byte at a
random offset changes: half the time from this process after a delay drawn over the duration of
an uninterrupted registration, half the time in the child itself at a marker drawn from those an
uninterrupted registration writes (before the inspection, between inspection and upload, at an
upload request, ...). Then the file, as it now is, is registered again, and then the original
bytes, restored, under another description (a new version of the first digest: the object under
that digest must be the original bytes, whatever the changed run left).

Each modified run must either register the bytes it inspected, or refuse: exit 1 with every
region's error naming the file as changed after inspection, or exit 2 (the change made the
archive invalid while it was being inspected). Every later registration must complete.
Afterwards: every version's artifact hashes to its recorded digest and its key's, every object
under a content key hashes to that digest (none claims a digest it does not have), no multipart
upload is left open, every version's record, schema and approval history verifies.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import random
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _aws import machine_facts, moto_server, use_fake_credentials  # noqa: E402
from reliability.crash import (  # noqa: E402
    BUCKET,
    MIB,
    REGIONS,
    Run,
    SageMakerTarget,
    Verdict,
    config_file,
    results_of,
    run_child,
    scratch_folder,
    tally,
)
from reliability.sagemaker_checks import check_sagemaker_documents, content_objects  # noqa: E402
from tests.support.helpers import INFERENCE_PY  # noqa: E402

CHANGED = "changed after it was inspected"
REGISTERED, REFUSED, INVALID, OTHER = "registered", "refused: changed", "refused: invalid", "other"


@dataclass
class Modified:
    """One iteration: how and when the byte changed, what the runs answered."""

    number: int
    method: str  # "timer" or "marker"
    at: str  # the delay, or PHASE:N
    phase: str  # the phase the change landed in ("after" when the run had finished)
    offset: int
    outcome: str
    exit_code: int
    message: str
    reruns_ok: bool


@dataclass
class Summary:
    done: list[Modified] = field(default_factory=list)
    verdict: Verdict = field(default_factory=lambda: Verdict("sagemaker"))
    objects: int = 0
    documents: str = "n/a"
    uploads_left: int = 0

    @property
    def problems(self) -> list[str]:
        return self.verdict.problems


def classify(run: Run) -> tuple[str, str]:
    """(outcome, one message) of a modified run."""
    results = results_of(run)
    errors = [str(r.get("error") or "") for r in results if r.get("status") == "failed"]
    text = run.stdout + " ".join(errors)
    if run.returncode == 0 and results and not errors:
        return REGISTERED, ""
    if run.returncode == 1 and len(errors) == len(results) and all(CHANGED in e for e in errors):
        return REFUSED, errors[0]
    if run.returncode == 2 and "Traceback" not in text:
        return INVALID, run.stdout.strip()[-300:]
    return OTHER, f"exit {run.returncode}: {text.strip()[-300:]}"


def register(
    target: SageMakerTarget, model: Path, config: Path, extra: dict[str, str] | None = None
) -> Run:
    args = ["register", str(model), "--config", str(config), "--region", ",".join(REGIONS)]
    run, _ = run_child(
        [*args, *target.inventory_args(), "--json"], {**target.env(), **(extra or {})}
    )
    return run


def modified_run(
    target: SageMakerTarget, model: Path, config: Path, how: tuple[str, str], offset: int
) -> tuple[Run, str]:
    """Register ``model`` while the byte at ``offset`` changes (``how``: timer or marker);
    the phase the change landed in."""
    method, at = how
    if method == "marker":
        where = {"MIMSREG_MODIFY_AT": at, "MIMSREG_MODIFY_FILE": f"{model}:{offset}"}
        run = register(target, model, config, where)
        phase, _, count = at.partition(":")
        reached = sum(1 for _, _, p in run.phases if p == phase) >= int(count)
        return run, phase if reached else "after"
    flipped: list[float] = []
    started = time.monotonic()

    def flip() -> None:
        with model.open("r+b") as handle:
            handle.seek(offset)
            byte = handle.read(1)
            handle.seek(offset)
            handle.write(bytes([byte[0] ^ 0xFF]))
        flipped.append(time.monotonic() - started)

    timer = threading.Timer(float(at), flip)
    timer.start()
    run = register(target, model, config)
    timer.join()
    before = [p for seconds, _, p in run.phases if seconds <= flipped[0]]
    phase = "after" if flipped[0] >= run.seconds else (before[-1] if before else "startup")
    return run, phase


def flip_back(model: Path, offset: int) -> None:
    with model.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


def plain_archive(folder: Path, rng: random.Random, size: int, number: int) -> tuple[Path, int]:
    """A valid model archive, uncompressed (so that a changed byte of the weights leaves it
    valid: the file as it is after the change registers too), and an offset in its weights."""
    for old in folder.glob("model-*.tar"):
        old.unlink()
    path = folder / f"model-{number}.tar"
    weights = rng.randbytes(size)
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in [("model.bin", weights), ("code/inference.py", INFERENCE_PY)]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))
    with tarfile.open(path) as archive:
        start = archive.getmember("model.bin").offset_data
    return path, start + rng.randrange(size)


def run_iterations(
    target: SageMakerTarget,
    iterations: int,
    seed: int,
    size: int,
    log: Callable[[str], None] = print,
) -> Summary:
    """The modified runs and their re-runs, then every check (see the module docstring)."""
    rng = random.Random(f"{seed}:modified")
    work = target.scratch / "work"
    work.mkdir(parents=True, exist_ok=True)
    summary = Summary()
    expected: set[tuple[str, str, int]] = set()

    def note(run: Run) -> None:
        for result in results_of(run):
            if result.get("status") in ("created", "unchanged"):
                expected.add((str(result["region"]), str(result["group"]), int(result["version"])))

    model, _ = plain_archive(work, rng, size, -1)
    calibration = register(target, model, config_file(work, -1, "modified-calibration"))
    if calibration.returncode != 0:
        raise RuntimeError(f"calibration run failed: {calibration.stdout}")
    note(calibration)
    markers = collections.Counter(phase for _, _, phase in calibration.phases)
    markers.pop("exit", None)
    for number in range(iterations):
        model, offset = plain_archive(work, rng, size, number)
        if number % 2 == 0:
            how = ("timer", f"{rng.uniform(0.0, calibration.seconds):.3f}")
        else:
            phase = rng.choice(sorted(markers))
            how = ("marker", f"{phase}:{rng.randint(1, markers[phase])}")
        group = f"modified-{number:02d}"
        run, phase = modified_run(target, model, config_file(work, number, group), how, offset)
        note(run)
        outcome, message = classify(run)
        now = register(target, model, config_file(work, 1000 + number, group))  # as it is now
        flip_back(model, offset)
        original = register(target, model, config_file(work, 2000 + number, group))
        note(now)
        note(original)
        reruns_ok = now.returncode == 0 and original.returncode == 0
        summary.done.append(
            Modified(number, *how, phase, offset, outcome, run.returncode, message, reruns_ok)
        )
        log(
            f"#{number:02d} {how[0]:6} {how[1]:22} in {phase:18} offset {offset:>10}: "
            f"{outcome} (exit {run.returncode}); re-runs {'ok' if reruns_ok else 'FAILED'}"
        )
    check(target, summary, expected)
    return summary


def check(target: SageMakerTarget, summary: Summary, expected: set[tuple[str, str, int]]) -> None:
    verdict = summary.verdict
    tally(verdict, target, target.versions(verdict), expected)
    for item in summary.done:
        if item.outcome == OTHER:
            verdict.problems.append(
                f"#{item.number}: neither registered nor refused: {item.message}"
            )
        if not item.reruns_ok:
            verdict.problems.append(f"#{item.number}: a later registration failed")
    summary.objects, wrong = content_objects(target)
    verdict.problems.extend(wrong)
    for region in REGIONS:
        listed = target._client("s3", region).list_multipart_uploads(
            Bucket=BUCKET.format(region=region)
        )
        summary.uploads_left += len(listed.get("Uploads", []))
    if summary.uploads_left:
        verdict.problems.append(f"{summary.uploads_left} multipart upload(s) left open")
    documents = check_sagemaker_documents(target)
    summary.documents = documents.line()
    verdict.problems.extend(f"documents: {problem}" for problem in documents.problems)


METHOD = """
A moto server on 127.0.0.1; each iteration a new {size} MiB archive of random weights
(uncompressed, so that it stays valid when a byte of its weights changes; multipart: 16 MiB
parts) registered in {regions} by `mimsreg register` (`reliability/_traced_register.py`) while
one byte of its weights changes: in even iterations from the harness after a delay drawn over an
uninterrupted registration's duration, in odd ones in the child at a marker drawn from an
uninterrupted registration's (phase, then occurrence). Then the file as it now is registered
again, then the original bytes restored and registered under another description (a new version
of the first digest). A modified run holds when it registers what it inspected, or refuses:
exit 1, every region's error naming the file as changed after inspection, or exit 2 (the archive
became invalid while it was inspected); every later registration must complete. Checked
afterwards: every version's artifact hashes to its recorded digest and its key's; every object
under `mimsreg/artifacts/sha256/<digest>/` hashes to that digest; no multipart upload left open;
every version's record, schema and approval history (`reliability/sagemaker_checks.py`).
"""


def report(summary: Summary, iterations: int, seed: int, size: int) -> str:
    lines = [
        f"`make reliability-modified` (`reliability/modified_archive.py --iterations {iterations} "
        f"--seed {seed} --size-mib {size // MIB}`). {machine_facts()}.",
        "",
        " ".join(METHOD.format(size=size // MIB, regions=", ".join(REGIONS)).split()),
        "",
        "| iteration | how | when | landed in | outcome | exit | later registrations |",
        "|---|---|---|---|---|---|---|",
    ]
    for item in summary.done:
        lines.append(
            f"| {item.number} | {item.method} | {item.at} | {item.phase} | {item.outcome} "
            f"| {item.exit_code} | {'ok' if item.reruns_ok else 'FAILED'} |"
        )
    outcomes = collections.Counter(item.outcome for item in summary.done)
    verdict = summary.verdict
    lines += [
        "",
        f"Outcomes: {', '.join(f'{k} {v}' for k, v in sorted(outcomes.items()))}. Read back: "
        f"{verdict.versions} versions, {verdict.without_artifact} artifacts missing or not "
        f"verifying, {summary.objects} objects under content keys read and hashed, "
        f"{summary.uploads_left} multipart uploads open; {summary.documents}.",
    ]
    example = next((i.message for i in summary.done if i.outcome == REFUSED), "")
    if example:
        lines += ["", f"A refusal, as the user sees it: `{' '.join(example.split())[:400]}`"]
    lines += ["", "Problems:", ""] + ([f"- {p}" for p in verdict.problems] or ["- none."])
    return "\n".join(lines)


def summary_row(summary: Summary, iterations: int) -> tuple[str, str, bool]:
    outcomes = collections.Counter(item.outcome for item in summary.done)
    runs = (
        f"{iterations} registrations of multipart archives x {len(REGIONS)} regions, one byte "
        f"changed during each ({', '.join(f'{k} {v}' for k, v in sorted(outcomes.items()))}), "
        f"each followed by 2 registrations"
    )
    invariants = (
        "every run registered what it inspected or refused, naming the file; "
        f"{summary.verdict.without_artifact} versions whose bytes are not their digest, "
        f"{summary.objects} content-keyed objects all hashing to their key, 0 uploads open, "
        "records, schemas and approval histories verified"
    )
    held = not summary.problems
    return runs, invariants if held else "see the modified-archive section", held


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--size-mib", type=int, default=24)
    parser.add_argument("--no-report", action="store_true", help="do not touch docs/")
    parser.add_argument("--json", type=Path, default=None, help="write every iteration here")
    options = parser.parse_args(argv)
    use_fake_credentials()
    size = options.size_mib * MIB
    with scratch_folder() as scratch, moto_server() as server:
        summary = run_iterations(
            SageMakerTarget(scratch / "sagemaker", server.url),
            options.iterations,
            options.seed,
            size,
        )
    body = report(summary, options.iterations, options.seed, size)
    print(body)
    if options.json is not None:
        data: dict[str, Any] = {"iterations": [i.__dict__ for i in summary.done]}
        data["problems"] = summary.problems
        options.json.write_text(json.dumps(data, indent=2))
    if not options.no_report:
        from reliability._report import update_section, update_summary_row

        update_section("modified", "Archives changed during `mimsreg register` (SageMaker)", body)
        update_summary_row(
            "modified", "make reliability-modified", *summary_row(summary, options.iterations)
        )
    return 0 if not summary.problems else 1


if __name__ == "__main__":
    sys.exit(main())
