"""Local inventory benchmark: per-registration overhead at 10,000 versions, and `list` latency.

Run: ``make bench-local`` (or ``.venv/bin/python bench/bench_local_inventory.py [--versions N]``).

- Overhead: the executor's whole per-version path (find by identity, get-or-create group, create
  version in a BEGIN IMMEDIATE transaction, read back) with the artifact already in the
  content-addressed store, so no bytes are copied. Baseline measured in the same run: one bare
  ``INSERT`` + ``COMMIT`` per row into an SQLite table in the same mode (WAL, synchronous=FULL),
  the floor any durable SQLite inventory pays.
- ``list``: ``mimsreg list --json`` over the 10,000 versions as a subprocess, against the baseline
  ``python -c "import json"`` (interpreter start) in the same run; medians of interleaved runs.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.helpers import make_plan, write_model_archive  # noqa: E402

from bench._report import update_section  # noqa: E402
from mimsreg.engine.execute import execute_plan  # noqa: E402
from mimsreg.engine.inventory.local import LocalInventory  # noqa: E402

CHUNK = 500  # versions per interleaved block, so disk noise hits both sides alike


def bare_connection(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(str(path), isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, identity TEXT UNIQUE, record TEXT)")
    return connection


def bare_inserts(connection: sqlite3.Connection, numbers: range) -> float:
    record = "x" * 2000  # about the size of a version's record
    start = time.perf_counter()
    for number in numbers:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO t (identity, record) VALUES (?, ?)", (str(number), record))
        connection.execute("COMMIT")
    return time.perf_counter() - start


def register_versions(inventory: LocalInventory, artifact: Path, numbers: range) -> float:
    plans = [make_plan(artifact, model_package_description=f"v{n}") for n in numbers]
    start = time.perf_counter()
    for plan in plans:
        [result] = execute_plan(plan, inventory, artifact)
        assert result.status == "created", result
    return time.perf_counter() - start


def interleaved(root: Path, artifact: Path, count: int) -> tuple[float, float]:
    """Total seconds for (mimsreg, bare SQLite), alternating blocks of CHUNK versions."""
    ours = bare = 0.0
    connection = bare_connection(root / "bare.db")
    with LocalInventory(root / "home" / "inventory.db") as inventory:
        execute_plan(make_plan(artifact, model_package_description="warm-up"), inventory, artifact)
        for first in range(0, count, CHUNK):
            block = range(first, min(first + CHUNK, count))
            ours += register_versions(inventory, artifact, block)
            bare += bare_inserts(connection, block)
    connection.close()
    return ours, bare


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mimsreg-bench-") as folder:
        root = Path(folder)
        artifact = write_model_archive(root / "model.tar.gz")
        overhead, baseline = interleaved(root, artifact, args.versions)
        env = {**os.environ, "MIMSREG_HOME": str(root / "home")}
        mimsreg = str(Path(sys.executable).parent / "mimsreg")
        list_times, python_times = [], []
        for _ in range(args.rounds):
            list_times.append(timed([mimsreg, "list", "--json"], env))
            python_times.append(timed([sys.executable, "-c", "import json"], env))
        size = (root / "home" / "inventory.db").stat().st_size
    n = args.versions
    per_version_ms = overhead / n * 1000
    bare_ms = baseline / n * 1000
    list_s, python_s = statistics.median(list_times), statistics.median(python_times)
    table = "\n".join(
        [
            f"Measured with `make bench-local` ({n:,} versions, {args.rounds} interleaved rounds"
            f" for list; {os.cpu_count()} cores; Python {sys.version.split()[0]}; SQLite"
            f" {sqlite3.sqlite_version}; database {size / 1e6:.1f} MB).",
            "",
            "| measure | mimsreg | baseline | ratio | target |",
            "|---|---|---|---|---|",
            f"| registration overhead per version (no copy) | {per_version_ms:.2f} ms |"
            f" bare INSERT+COMMIT {bare_ms:.2f} ms | {per_version_ms / bare_ms:.1f} x |"
            f" ≤ 5 ms {'met' if per_version_ms <= 5 else 'MISSED'} |",
            f"| `mimsreg list --json`, {n:,} versions (median) | {list_s:.3f} s |"
            f" `python -c 'import json'` {python_s:.3f} s | {list_s / python_s:.1f} x |"
            f" ≤ 1 s {'met' if list_s <= 1 else 'MISSED'} |",
        ]
    )
    print(table)
    update_section("local-inventory", "Local inventory (`bench/bench_local_inventory.py`)", table)


if __name__ == "__main__":
    main()
