"""Child processes the AWS benchmarks run against: a moto server, and the latency proxy."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def use_fake_credentials() -> None:
    """Fake credentials and no profile: nothing here may reach real AWS."""
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.pop("AWS_PROFILE", None)


@dataclass(frozen=True)
class Server:
    """A child server process: where it listens, and its pid (for its CPU time)."""

    url: str
    pid: int


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def moto_server() -> Iterator[Server]:
    """A moto server on 127.0.0.1 on a free port (our child, stopped on exit)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield Server(url, process.pid)
    finally:
        _stop(process)


def reset_moto(url: str) -> None:
    """Forget every bucket, object and model package (moto keeps uploads in memory)."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30):
        pass


@contextmanager
def latency_proxy(upstream: str, delay_ms: float) -> Iterator[Server]:
    """``bench/latency_proxy.py`` in front of ``upstream`` (our child, stopped on exit)."""
    process = subprocess.Popen(
        [
            sys.executable,
            str(BENCH / "latency_proxy.py"),
            "--upstream",
            upstream,
            "--delay-ms",
            str(delay_ms),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().decode().strip()
        if not url.startswith("http://"):
            raise RuntimeError("the latency proxy did not start")
        yield Server(url, process.pid)
    finally:
        _stop(process)


def create_buckets(endpoint: str, regions: list[str], bucket: str) -> None:
    """One bucket per region, ``bucket`` formatted with the region (not timed)."""
    import boto3

    for region in regions:
        s3 = boto3.client("s3", region_name=region, endpoint_url=endpoint)
        name = bucket.format(region=region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})


def machine_facts() -> str:
    """Cores, CPU model, Python, boto3 and moto versions: the line every table starts with."""
    import boto3
    import moto

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}); Python {platform.python_version()};"
        f" boto3 {boto3.__version__}; moto {moto.__version__}"
    )
