"""Hostile input: generated config files and mutated archives through ``mimsreg register``.

Run: ``make reliability-fuzz`` (or ``.venv/bin/python reliability/fuzz.py [--configs 10000]
[--archives 3000] [--sagemaker-configs 150] [--sagemaker-archives 100] [--seed N]``). Writes the
``fuzz`` section of docs/reliability.md and exits 1 when an invariant broke.

Each example is a whole CLI run, ``mimsreg register MODEL --config FILE --json``, in process
(click's runner: an uncaught exception is caught and counted, not lost), every 50th also as a real
process (no traceback may reach a user's terminal). The checks are
``tests/support/fuzzing.py``'s: exit 0 or 2, no traceback, a refused run prints a bounded message
naming the file at fault and leaves the inventory as it was (SQLite rows and store files; S3
objects, multipart uploads and model packages on moto).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _aws import create_buckets, machine_facts, moto_server, use_fake_credentials  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402
from hypothesis.strategies import SearchStrategy  # noqa: E402
from tests.conftest import SEED_EXAMPLE  # noqa: E402
from tests.support.fuzzing import (  # noqa: E402
    Tally,
    World,
    archive_bytes,
    config_files,
    hostile_archives,
    register_in_process,
    register_subprocess,
    serialise,
    write_config,
)
from tests.support.helpers import write_model_archive  # noqa: E402

SUBPROCESS_EVERY = 50
T = TypeVar("T")
BUCKET = "mimsreg-fuzz-{region}"


def run_examples(
    strategy: SearchStrategy[T], examples: int, seed: int, body: Callable[[T], None]
) -> None:
    """``body`` on ``examples`` values Hypothesis generates from ``strategy`` (seeded; no
    shrinking and no example database: each run is a tally, not a search for one failure)."""

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def one(value: T) -> None:
        body(value)

    one()


def register_and_count(
    tally: Tally, world: World, model: Path, config: Path, log: Callable[[str], None], what: str
) -> None:
    """One example: a run in process, every ``SUBPROCESS_EVERY``-th also as a process."""
    tally.examples += 1
    tally.add(register_in_process(world, model, config))
    if tally.examples % SUBPROCESS_EVERY == 0:
        tally.subprocess_runs += 1
        tally.add(register_subprocess(world, model, config))
    if tally.examples % 500 == 0:
        log(f"{what}: {tally.examples} examples, exits {tally.exit_codes}")


def fuzz_configs(
    world: World, folder: Path, examples: int, seed: int, log: Callable[[str], None]
) -> Tally:
    """``examples`` generated config files, each registering a good archive."""
    tally = Tally()
    model = write_model_archive(folder / "model.tar.gz", b"w" * 4096)

    def one(case: tuple[str, bytes]) -> None:
        config = write_config(folder, case[0], case[1], world, tally.examples)
        register_and_count(tally, world, model, config, log, "configs")
        config.unlink()

    run_examples(config_files(), examples, seed, one)
    return tally


def fuzz_archives(
    world: World, folder: Path, examples: int, seed: int, log: Callable[[str], None]
) -> Tally:
    """``examples`` mutated archives, each with the seed's valid config."""
    tally = Tally()
    config = folder / "config.json"
    config.write_bytes(serialise({**SEED_EXAMPLE, **world.config_extra()}, "json"))

    def one(data: bytes) -> None:
        model = folder / f"model-{tally.examples}.tar.gz"
        model.write_bytes(data)
        register_and_count(tally, world, model, config, log, "archives")
        model.unlink()

    run_examples(archive_bytes(), examples, seed, one)
    return tally


def hostile(world: World, folder: Path, processes: bool = True) -> Tally:
    """The hand-made hostile archives of tests/support/archives.py, in process and
    (``processes``) as a process each."""
    tally = Tally()
    config = folder / "config.json"
    config.write_bytes(serialise({**SEED_EXAMPLE, **world.config_extra()}, "json"))
    for name, data in hostile_archives():
        model = folder / f"{name}.tar.gz"
        model.write_bytes(data)
        tally.examples += 1
        tally.add(register_in_process(world, model, config))
        if processes:
            tally.subprocess_runs += 1
            tally.add(register_subprocess(world, model, config))
    return tally


def row(what: str, backend: str, tally: Tally, seconds: float) -> str:
    exits = tally.exit_codes
    other = sum(n for code, n in exits.items() if code not in (0, 2))
    return (
        f"| {what} | {backend} | {tally.examples:,} | {tally.runs:,} ({tally.subprocess_runs} as "
        f"processes) | {exits.get(0, 0):,} | {exits.get(2, 0):,} | {other} | {tally.tracebacks} "
        f"| {tally.writes_after_error} | {tally.unclear_errors} | {seconds:.0f} "
        f"| {'yes' if tally.held else '**NO**'} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--configs", type=int, default=10_000)
    parser.add_argument("--archives", type=int, default=3_000)
    parser.add_argument("--sagemaker-configs", type=int, default=150)
    parser.add_argument("--sagemaker-archives", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--no-report", action="store_true", help="do not touch docs/")
    options = parser.parse_args(argv)
    use_fake_credentials()
    results: list[tuple[str, str, Tally, float]] = []

    def timed(what: str, backend: str, work: Callable[[], Tally]) -> None:
        started = time.monotonic()
        tally = work()
        results.append((what, backend, tally, time.monotonic() - started))
        print(row(what, backend, tally, results[-1][3]), flush=True)
        for failure in tally.failures:
            print(f"  FAILED: {failure}", flush=True)

    with tempfile.TemporaryDirectory(prefix="mimsreg-fuzz-") as scratch:
        root = Path(scratch)
        for sub in ("configs", "archives", "hostile", "sm-configs", "sm-archives", "sm-hostile"):
            (root / sub).mkdir()
        local = World(root / "home")
        timed(
            "config files (Hypothesis)",
            "local",
            lambda: fuzz_configs(local, root / "configs", options.configs, options.seed, print),
        )
        timed(
            "archive bytes (Hypothesis)",
            "local",
            lambda: fuzz_archives(local, root / "archives", options.archives, options.seed, print),
        )
        timed("hostile archive corpus", "local", lambda: hostile(local, root / "hostile"))
        with moto_server() as server:
            create_buckets(server.url, ["us-east-1"], BUCKET)
            remote = World(root / "sm-home", server.url, BUCKET)
            timed(
                "config files (Hypothesis)",
                "sagemaker (moto)",
                lambda: fuzz_configs(
                    remote, root / "sm-configs", options.sagemaker_configs, options.seed, print
                ),
            )
            timed(
                "archive bytes (Hypothesis)",
                "sagemaker (moto)",
                lambda: fuzz_archives(
                    remote, root / "sm-archives", options.sagemaker_archives, options.seed, print
                ),
            )
            timed(
                "hostile archive corpus",
                "sagemaker (moto)",
                lambda: hostile(remote, root / "sm-hostile"),
            )
    body = report(results, options)
    print(body)
    held = all(tally.held for _, _, tally, _ in results)
    if not options.no_report:
        from reliability._report import update_section, update_summary_row

        update_section("fuzz", "Hostile input: generated config files and archive bytes", body)
        configs = sum(t.examples for what, _, t, _ in results if what.startswith("config"))
        archives = sum(t.examples for what, _, t, _ in results if not what.startswith("config"))
        runs = sum(t.runs for _, _, t, _ in results)
        update_summary_row(
            "fuzz",
            "make reliability-fuzz",
            f"{configs:,} config files, {archives:,} archives (local and SageMaker on moto); "
            f"{runs:,} CLI runs",
            "exit 0 or 2 only, no traceback, every refusal a bounded message naming the file, "
            "nothing written after a refusal",
            held,
        )
    return 0 if held else 1


def report(results: list[tuple[str, str, Tally, float]], options: argparse.Namespace) -> str:
    lines = [
        f"`make reliability-fuzz` (`reliability/fuzz.py --configs {options.configs} --archives "
        f"{options.archives} --sagemaker-configs {options.sagemaker_configs} "
        f"--sagemaker-archives {options.sagemaker_archives} --seed {options.seed}`). "
        f"{machine_facts()}.",
        "",
        " ".join(METHOD.split()),
        "",
        "| input | backend | examples | CLI runs | exit 0 | exit 2 | other exits | tracebacks "
        "| writes after a refusal | unclear refusals | seconds | held |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [row(what, backend, tally, seconds) for what, backend, tally, seconds in results]
    failures = [f"{what} ({backend}): {f}" for what, backend, t, _ in results for f in t.failures]
    lines += ["", "Problems:", ""] + ([f"- {f}" for f in failures] or ["- none."])
    return "\n".join(lines)


METHOD = """
Each example is a whole `mimsreg register MODEL --config FILE --json` run, in process through
click's runner (an uncaught exception is counted, not lost) and every 50th again as a real
process. Config files (`tests/support/fuzzing.py`): the seed's config with fields removed,
retyped or added (unicode, huge integers, NaN, 3,000-character strings, keys with newlines),
arbitrary mappings, arbitrary text and bytes, a fixed set of structural attacks (3,000-deep nesting,
100,000 open brackets, a YAML alias bomb, a UTF-8 BOM, a 6,000-digit number, a 6,000-character
source_dir, a python/object tag, empty and UTF-32 files), each in JSON or YAML, sometimes with
bytes flipped, sometimes with the wrong suffix. Archives: a real model archive (pax headers,
symlink, hard link) with bytes changed (header checksums optionally repaired), truncated, gzipped
or not, and arbitrary bytes; then the hand-made hostile corpus of `tests/support/archives.py` (path
traversal, links out, devices, bombs). A run holds when it exits 0 or 2, prints no traceback, and
a refusal prints at most 8,000 characters naming the file at fault and leaves the inventory as it
was (SQLite rows and store files; S3 objects, multipart uploads and model packages).
"""


if __name__ == "__main__":
    sys.exit(main())
