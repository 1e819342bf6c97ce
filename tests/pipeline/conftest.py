"""Fixtures of the pipeline-step tests: SageMaker SDK defaults isolated, builders, Python 3.9."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SEED_EXAMPLE

ROLE = "arn:aws:iam::111111111111:role/mimsreg-registration"
BUCKET = "mimsreg-test-{region}"


def write_sdk_defaults(path: Path, role: str | None = None, bucket: str | None = None) -> Path:
    """A SageMaker SDK defaults file (``SAGEMAKER_USER_CONFIG_OVERRIDE``) with a role, a bucket."""
    lines = ["SchemaVersion: '1.0'", "SageMaker:"]
    if bucket is not None:
        lines += [
            "  PythonSDK:",
            "    Modules:",
            "      Session:",
            f"        DefaultS3Bucket: {bucket}",
        ]
    if role is not None:
        lines += ["  ProcessingJob:", f"    RoleArn: {role}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _isolated_sdk_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No SageMaker SDK defaults file of the machine leaks into a test (an empty one is used)."""
    empty = tmp_path / "sagemaker-sdk-defaults-empty.yaml"
    empty.write_text("{}\n", encoding="utf-8")
    monkeypatch.setenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", str(empty))
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(empty))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def sdk_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Install a SageMaker SDK defaults file holding the given role and bucket."""

    def install(role: str | None = ROLE, bucket: str | None = None) -> Path:
        path = write_sdk_defaults(tmp_path / "sagemaker-sdk-defaults.yaml", role, bucket)
        monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(path))
        return path

    return install


def seed_config(**changes: Any) -> Any:
    """The seed's FraudDetection configuration with a role and a bucket per region."""
    from mimsreg.config import ModelRegistrationConfig

    values: dict[str, Any] = {**SEED_EXAMPLE, "role": ROLE, "bucket": BUCKET, **changes}
    return ModelRegistrationConfig(**values)


@pytest.fixture
def make_builder() -> Callable[..., Any]:
    """A ModelRegistrationStepBuilder for the seed configuration; keyword arguments pass on."""
    from mimsreg.pipeline import ModelRegistrationStepBuilder

    def make(config: Any = None, **kwargs: Any) -> Any:
        return ModelRegistrationStepBuilder(
            config if config is not None else seed_config(), **kwargs
        )

    return make


def definition_of(builder: Any, steps: Any, name: str = "mimsreg-test") -> dict[str, Any]:
    """The parsed definition of a pipeline holding ``steps``."""
    import json

    return dict(json.loads(builder.pipeline(name, steps).definition()))


def step_arguments(definition: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return dict(definition["Steps"][index]["Arguments"])


@pytest.fixture(scope="session")
def python39_boto3(python39: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Python 3.9 virtualenv holding only boto3 (what stock scikit-learn images offer).

    Made once per test session from PyPI (about 10 s).
    """
    venv = tmp_path_factory.mktemp("py39-boto3")
    subprocess.run([python39, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = str(venv / "bin" / "python")
    result = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "boto3"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"cannot install boto3 for Python 3.9: {result.stderr}")
    return python


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def closed_port() -> int:
    """A loopback port nothing listens on: a connection attempt fails at once."""
    return _free_port()


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """A moto server on 127.0.0.1 on a free port, for the session; its URL."""
    import sys
    import time
    import urllib.request

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.1)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def moto(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A reset moto server reached through ``AWS_ENDPOINT_URL``, with a bucket per test region."""
    import urllib.request

    import boto3

    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    for region in ("us-east-1", "eu-west-1"):
        s3 = boto3.client("s3", region_name=region)
        bucket = BUCKET.format(region=region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
    return moto_url
