"""Benchmark: `mimsreg inspect` on a 1 GiB model archive against the digest floor and the habit.

    python bench/bench_inspect.py [--size-mib 1024] [--rounds 5] [--no-write]

Builds (once, cached in bench/out/) a model.tar.gz of incompressible random weights plus
code/inference.py, warms the page cache, then runs these commands in interleaved rounds:

- ``openssl dgst -sha256 FILE``: the floor any inspector pays (it must read and hash every byte);
- ``sha256sum FILE && tar -tzf FILE``: the usual two-pass habit (digest, then list);
- ``mimsreg inspect --json FILE``: the CLI as a user runs it (Python start-up and imports included);
- ``python -c 'inspect_package(FILE)'``: the library call alone in a fresh interpreter.

Reports the median wall time, the ratio to openssl, the median CPU time (user + system; it shows
the work done even when other processes share the cores) and the peak RSS of each, and writes the
table into docs/benchmarks.md (section "Package inspection"; other sections are kept).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Package inspection"
MIB = 1024**2


@dataclass
class Runs:
    name: str
    command: list[str]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)


def build_archive(path: Path, size_mib: int) -> None:
    """A SageMaker-style model.tar.gz: two random weight files at the root, code under code/."""
    print(f"building {path} ({size_mib} MiB of random weights) ...", flush=True)
    half = size_mib * MIB // 2
    partial = path.with_suffix(".partial")
    # zlib level 1: random data is stored either way (deflate falls back to stored blocks), so the
    # inflate work is what `gzip -6` would give, and building takes seconds instead of a minute.
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    with partial.open("wb") as raw:

        class Sink:
            def write(self, data: bytes) -> int:
                raw.write(compressor.compress(data))
                return len(data)

        with tarfile.open(fileobj=Sink(), mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for index in range(2):
                info = tarfile.TarInfo(f"weights-{index}.bin")
                info.size = half
                tar.addfile(info, _RandomReader(half))
            code = b"def model_fn(model_dir):\n    return None\n"
            info = tarfile.TarInfo("code/inference.py")
            info.size = len(code)
            tar.addfile(info, io.BytesIO(code))
        raw.write(compressor.flush())
    partial.replace(path)


class _RandomReader:
    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return os.urandom(size)


def warm(path: Path) -> None:
    with path.open("rb") as handle:
        while handle.read(8 * MIB):
            pass


def timed(command: list[str]) -> tuple[float, float, int, str]:
    """Run ``command``; wall seconds, CPU seconds (user + sys) and peak RSS (KiB) of it alone."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        gnu_time = shutil.which("time") or "/usr/bin/time"
        if Path(gnu_time).exists():
            wrapped = [gnu_time, "-f", "%U %S %M", "-o", report.name, *command]
        else:  # a fresh wrapper process, so RUSAGE_CHILDREN covers this command only
            probe = (
                "import resource, subprocess, sys\n"
                "subprocess.run(sys.argv[2:], check=True, stdout=subprocess.DEVNULL)\n"
                "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
                "open(sys.argv[1], 'w').write(f'{r.ru_utime} {r.ru_stime} {r.ru_maxrss}')\n"
            )
            wrapped = [sys.executable, "-c", probe, report.name, *command]
        start = time.perf_counter()
        result = subprocess.run(wrapped, capture_output=True, check=False)
        wall = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(f"{command} failed: {result.stderr.decode()}")
        user, system, rss = report.read().split()[-3:]
    return wall, float(user) + float(system), int(rss), result.stdout.decode()


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = match.group(1).strip() if match else cpu
    flags = []
    if cpuinfo.exists():
        text = cpuinfo.read_text()
        flags = [flag for flag in ("sha_ni", "avx2", "avx512f") if f" {flag}" in text]
    openssl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    return (
        f"{cpu} ({', '.join(flags) or 'no SHA extensions'}), {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
        f"zlib {zlib.ZLIB_RUNTIME_VERSION}, {openssl}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only; leave the docs")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    archive = OUT / f"model-{args.size_mib}MiB.tar.gz"
    if not archive.exists():
        build_archive(archive, args.size_mib)
    size = archive.stat().st_size
    python = sys.executable
    mimsreg = str(Path(python).parent / "mimsreg")
    file = str(archive)
    runs = [
        Runs("openssl dgst -sha256 (floor)", ["openssl", "dgst", "-sha256", file]),
        Runs(
            "sha256sum && tar -tzf (two passes)",
            ["sh", "-c", f"sha256sum '{file}' && tar -tzf '{file}' > /dev/null"],
        ),
        Runs("mimsreg inspect --json (CLI)", [mimsreg, "inspect", "--json", file]),
        Runs(
            "inspect_package() (library, fresh interpreter)",
            [python, "-c", f"from mimsreg.engine.package import inspect_package as i; i({file!r})"],
        ),
    ]

    print(f"warming the page cache with {archive} ({size:,} bytes) ...", flush=True)
    warm(archive)
    load_before = os.getloadavg()
    expected = hashlib.sha256(archive.read_bytes()).hexdigest() if size < 4 * 1024**3 else None
    for run in runs:  # one unmeasured run each: imports and code in the cache too
        timed(run.command)
    for round_index in range(args.rounds):
        order = runs if round_index % 2 == 0 else list(reversed(runs))
        for run in order:
            wall, cpu, rss, stdout = timed(run.command)
            run.wall.append(wall)
            run.cpu.append(cpu)
            run.rss_kib.append(rss)
            if run.command[0] == mimsreg and expected is not None:
                assert f'"sha256": "{expected}"' in stdout, "inspect gave a wrong digest"
        print(f"round {round_index + 1}/{args.rounds} done", flush=True)
    load_after = os.getloadavg()

    floor = statistics.median(runs[0].wall)
    lines = [
        SECTION,
        "",
        "`python bench/bench_inspect.py` (`make bench-inspect`): one model.tar.gz of "
        f"{size / 1024**3:.2f} GiB ({size:,} bytes; two random weight files, so incompressible, "
        "plus `code/inference.py`), read from a warm page cache. Medians of "
        f"{args.rounds} interleaved rounds after one warm-up run each; wall time of the whole "
        "command (process start included); CPU = user + system time; peak RSS from "
        "`/usr/bin/time`.",
        "",
        f"Machine: {machine()}. Load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after (the cores are shared with other work).",
        "",
        "| command | median wall (s) | wall min-max (s) | ratio to openssl | median CPU (s) "
        "| peak RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        wall = statistics.median(run.wall)
        lines.append(
            f"| `{run.name}` | {wall:.2f} | {min(run.wall):.2f}-{max(run.wall):.2f} "
            f"| {wall / floor:.2f} | "
            f"{statistics.median(run.cpu):.2f} | {max(run.rss_kib) / 1000:.0f} |"
        )
    lines.append("")
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_section(table)
        print(f"wrote {DOC.relative_to(ROOT)}")


def write_section(section: str, notes: str = "") -> None:
    """Replace (or append) this benchmark's section of docs/benchmarks.md, keeping the others."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    body = section.rstrip() + "\n" + _notes_from(text) + "\n"
    if pattern.search(text):
        text = pattern.sub(lambda _: body, text)
    else:
        text = text.rstrip() + "\n\n" + body
    DOC.write_text(text)


NOTES_START = "<!-- notes: kept when the table is regenerated -->"


def _notes_from(text: str) -> str:
    """Hand-written analysis under the table survives a re-run."""
    match = re.search(
        rf"^{re.escape(SECTION)}\n.*?({re.escape(NOTES_START)}.*?)(?=^## |\Z)", text, re.S | re.M
    )
    return "\n" + match.group(1).rstrip() + "\n" if match else ""


if __name__ == "__main__":
    main()
