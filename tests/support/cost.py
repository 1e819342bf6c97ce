"""What a command costs: CPU time, peak memory and output, measured in a process of its own.

The command runs as the child of a small Python process that waits for it and reports
``resource.getrusage(RUSAGE_CHILDREN)``: the peak RSS of that one command, not of whatever
else the test process ever started.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Runs argv (given as JSON), writes its output to a file, reports the child's rusage as JSON.
_MEASURE = """
import json, resource, subprocess, sys, time
argv, output, timeout = json.loads(sys.argv[1]), sys.argv[2], float(sys.argv[3])
started = time.monotonic()
with open(output, "wb") as sink:
    try:
        done = subprocess.run(argv, stdout=sink, stderr=subprocess.STDOUT, timeout=timeout)
        code = done.returncode
    except subprocess.TimeoutExpired:
        code = None
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "exit_code": code,
    "cpu_seconds": usage.ru_utime + usage.ru_stime,
    "wall_seconds": time.monotonic() - started,
    "max_rss_mb": usage.ru_maxrss / 1024,
}))
"""

# A CLI run as a process: `python -c` with the package the tests import.
MIMSREG = [sys.executable, "-c", "from mimsreg.cli import main; main()"]


@dataclass(frozen=True)
class Cost:
    exit_code: int | None  # None: killed at the timeout
    cpu_seconds: float
    wall_seconds: float
    max_rss_mb: float
    output: bytes

    def __str__(self) -> str:
        return (
            f"exit {self.exit_code}, {self.cpu_seconds:.2f} s CPU, {self.wall_seconds:.2f} s, "
            f"{self.max_rss_mb:.0f} MB, {len(self.output)} bytes of output: "
            f"{self.output[:300]!r}"
        )


def measure(argv: list[str], folder: Path, timeout: float = 60) -> Cost:
    """Run ``argv`` (stdout and stderr together) and measure it; killed after ``timeout``."""
    output = folder / "cost-output"
    report = subprocess.run(
        [sys.executable, "-c", _MEASURE, json.dumps(argv), str(output), str(timeout)],
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout + 30,
    )
    data = json.loads(report.stdout)
    return Cost(output=output.read_bytes(), **data)
