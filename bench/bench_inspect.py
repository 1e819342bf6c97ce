"""Benchmark: `mimsreg inspect` on a 1 GiB model archive against the digest floor and the habit.

    python bench/bench_inspect.py [--size-mib 1024] [--rounds 5] [--no-write]

Builds (once, cached in bench/out/) a model.tar.gz of incompressible random weights plus
code/inference.py, warms the page cache, then runs these commands in interleaved rounds:

- ``openssl dgst -sha256 FILE``: the floor any inspector pays (it must read and hash every byte);
- ``sha256sum FILE && tar -tzf FILE``: the usual two-pass habit (digest, then list);
- ``mimsreg inspect --json FILE``: the CLI as a user runs it (Python start-up and imports
  included), inflating with zlib-ng (the host's default), then with ``MIMSREG_NO_ZLIB_NG=1``
  (the stdlib's zlib);
- ``python -c 'inspect_package(FILE, inflater=...)'``: the library call alone in a fresh
  interpreter, with zlib-ng's inflater and with the stdlib's (the engine's default, what the
  processing job runs).

Targets (issue 21, P1): the CLI with zlib-ng at most 1.2x openssl's wall time with two free cores
and at most 1.4x its CPU time. The load average is sampled before every command, so the table says
how free the cores were.

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
    env: dict[str, str] = field(default_factory=dict)
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    load: list[float] = field(default_factory=list)


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


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int, str]:
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
        result = subprocess.run(
            wrapped, capture_output=True, check=False, env={**os.environ, **(env or {})}
        )
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


def inflate_seconds(path: Path, inflater: str) -> float:
    """CPU seconds one inflater spends on the whole file (CRC check included), measured alone in a
    fresh interpreter, as inspect feeds it (64 KiB slices, 256 KiB pieces)."""
    module = "zlib" if inflater == "zlib" else "zlib_ng.zlib_ng"
    code = (
        f"import sys, time, {module} as z\n"
        "from mimsreg.engine.package import reader\n"
        "data = memoryview(open(sys.argv[1], 'rb').read())\n"
        "start = time.process_time()\n"
        "d = z.decompressobj(wbits=31)\n"
        "for s in range(0, len(data), reader._INPUT_SLICE):\n"
        "    chunk = data[s:s + reader._INPUT_SLICE]\n"
        "    while True:\n"
        "        out = d.decompress(chunk, reader._PIECE_SIZE)\n"
        "        chunk = d.unconsumed_tail\n"
        "        if d.eof or (not chunk and len(out) < reader._PIECE_SIZE):\n"
        "            break\n"
        "    if d.eof:\n"
        "        break\n"
        "assert d.eof\n"
        "print(time.process_time() - start)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return float(result.stdout)


def commands(python: str, file: str) -> list[Runs]:
    mimsreg = str(Path(python).parent / "mimsreg")
    stdlib = {"MIMSREG_NO_ZLIB_NG": "1"}
    library = "from mimsreg.engine.package import inspect_package as i; "
    return [
        Runs("openssl dgst -sha256 (floor)", ["openssl", "dgst", "-sha256", file]),
        Runs(
            "sha256sum && tar -tzf (two passes)",
            ["sh", "-c", f"sha256sum '{file}' && tar -tzf '{file}' > /dev/null"],
        ),
        Runs("mimsreg inspect --json (CLI, zlib-ng)", [mimsreg, "inspect", "--json", file]),
        Runs(
            "mimsreg inspect --json (CLI, stdlib zlib)",
            [mimsreg, "inspect", "--json", file],
            env=stdlib,
        ),
        Runs(
            "inspect_package(inflater=zlib-ng) (library, fresh interpreter)",
            [
                python,
                "-c",
                "from mimsreg._inflate import host_inflater as h; "
                f"{library}i({file!r}, inflater=h())",
            ],
        ),
        Runs(
            "inspect_package() stdlib zlib (library, what the processing job runs)",
            [python, "-c", f"{library}i({file!r})"],
        ),
    ]


def measure(runs: list[Runs], rounds: int, digest: str | None) -> None:
    """Interleaved rounds (order reversed every other round) after one warm-up run each."""
    for run in runs:
        timed(run.command, run.env)
    for round_index in range(rounds):
        order = runs if round_index % 2 == 0 else list(reversed(runs))
        for run in order:
            run.load.append(os.getloadavg()[0])
            wall, cpu, rss, stdout = timed(run.command, run.env)
            run.wall.append(wall)
            run.cpu.append(cpu)
            run.rss_kib.append(rss)
            if "inspect" in run.command and digest is not None:
                assert f'"sha256": "{digest}"' in stdout, "inspect gave a wrong digest"
        print(f"round {round_index + 1}/{rounds} done", flush=True)


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
    runs = commands(sys.executable, str(archive))

    print(f"warming the page cache with {archive} ({size:,} bytes) ...", flush=True)
    warm(archive)
    load_before = os.getloadavg()
    expected = hashlib.sha256(archive.read_bytes()).hexdigest() if size < 4 * 1024**3 else None
    measure(runs, args.rounds, expected)
    inflate = {name: inflate_seconds(archive, name) for name in ("zlib", "zlib-ng")}
    load_after = os.getloadavg()
    table = report(runs, args, size, load_before, load_after, inflate)
    print(table)
    if not args.no_write:
        write_section(table)
        print(f"wrote {DOC.relative_to(ROOT)}")


def report(
    runs: list[Runs],
    args: argparse.Namespace,
    size: int,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
    inflate: dict[str, float],
) -> str:
    floor, floor_cpu = statistics.median(runs[0].wall), statistics.median(runs[0].cpu)
    gib = size / 1024**3
    lines = [
        SECTION,
        "",
        "`python bench/bench_inspect.py` (`make bench-inspect`): one model.tar.gz of "
        f"{gib:.2f} GiB ({size:,} bytes; two random weight files, so incompressible, "
        "plus `code/inference.py`), read from a warm page cache. Medians of "
        f"{args.rounds} interleaved rounds after one warm-up run each; wall time of the whole "
        "command (process start included); CPU = user + system time; peak RSS from "
        "`/usr/bin/time`; load = the 1-minute load average sampled before each run (median).",
        "",
        f"Machine: {machine()}, zlib-ng {_zlib_ng_version()}. Load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after (the cores are shared with "
        "other work).",
        "",
        "| command | median wall (s) | wall min-max (s) | wall / openssl | median CPU (s) "
        "| CPU / openssl | peak RSS (MB) | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        wall, cpu = statistics.median(run.wall), statistics.median(run.cpu)
        lines.append(
            f"| `{run.name}` | {wall:.2f} | {min(run.wall):.2f}-{max(run.wall):.2f} "
            f"| {wall / floor:.2f} | {cpu:.2f} | {cpu / floor_cpu:.2f} "
            f"| {max(run.rss_kib) / 1000:.0f} | {statistics.median(run.load):.1f} |"
        )
    cli = runs[2]
    wall_ratio = statistics.median(cli.wall) / floor
    cpu_ratio = statistics.median(cli.cpu) / floor_cpu
    free = statistics.median(cli.load) < 1.0
    lines += [
        "",
        f"Inflate alone (CRC-32 check included, CPU per GiB of archive, fresh interpreter): "
        f"stdlib zlib {inflate['zlib'] / gib:.2f} s, zlib-ng {inflate['zlib-ng'] / gib:.2f} s.",
        "",
        f"Targets (P1, the CLI with zlib-ng): wall {wall_ratio:.2f} x openssl, target ≤ 1.2 x "
        + ("with two free cores: " if free else "with two free cores (the cores were busy: ")
        + ("met" if wall_ratio <= 1.2 else "MISSED")
        + ("" if free else f", at a load of {statistics.median(cli.load):.1f})")
        + f"; CPU {cpu_ratio:.2f} x, target ≤ 1.4 x: "
        + ("met" if cpu_ratio <= 1.4 else "MISSED")
        + ".",
        "",
    ]
    return "\n".join(lines)


def _zlib_ng_version() -> str:
    try:
        from zlib_ng import zlib_ng
    except ImportError:
        return "not installed"
    return str(zlib_ng.ZLIBNG_VERSION)


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
