"""Shared fixtures. Tests never reach the network: fake AWS credentials, no instance metadata."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The strict AWS layer's fixtures (strict_aws, strict_aws_server, python39_old_boto3); a plugin,
# not an import, so that its module is assertion-rewritten like the tests.
pytest_plugins = ["tests.support.strict_fixtures"]

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

SEED_EXAMPLE: dict[str, Any] = {
    "framework": "xgboost",
    "inference_instance_type": "ml.m5.large",
    "model_owner": "my-team-id",
    "model_registration_domain": "BuyerSellerMessaging",
    "model_registration_objective": "FraudDetection",
    "source_model_inference_content_types": ["text/csv"],
    "source_model_inference_response_types": ["application/json"],
    "source_model_inference_output_variable_list": {
        "fraud_score": "NUMERIC",
        "risk_category": "TEXT",
    },
    "source_model_inference_input_variable_list": {
        "account_age": "NUMERIC",
        "transaction_count": "NUMERIC",
        "country_code": "TEXT",
    },
}

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = REPO_ROOT / "examples" / "config.yaml"


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test gets its own MIMSREG_HOME and fake AWS credentials."""
    home = tmp_path_factory.mktemp("mimsreg-home")
    monkeypatch.setenv("MIMSREG_HOME", str(home))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # Defaults a developer's shell may set: each test names what it uses.
    for name in ("AWS_REGION", "MIMSREG_REGION", "MIMSREG_INVENTORY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def seed_kwargs() -> dict[str, Any]:
    """The seed's usage example configuration, as keyword arguments (a fresh copy)."""
    import copy

    return copy.deepcopy(SEED_EXAMPLE)


def find_python39() -> str | None:
    """A Python 3.9 interpreter (the one stock SageMaker processing images run), if installed."""
    import shutil

    candidates = sorted(Path.home().glob(".pyenv/versions/3.9*/bin/python3.9"))
    found = shutil.which("python3.9")
    return str(candidates[-1]) if candidates else found


@pytest.fixture(scope="session")
def python39() -> str:
    """Path of a Python 3.9 interpreter; the test is skipped, saying why, when there is none."""
    interpreter = find_python39()
    if interpreter is None:
        pytest.skip("no Python 3.9 interpreter on this machine (pyenv install 3.9 to run this)")
    return interpreter


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 on a free port, for the whole session; its URL."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
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


TEST_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
TEST_BUCKET = "mimsreg-test-{region}"


@pytest.fixture
def aws(strict_aws: Any) -> str:
    """A clean moto state behind the strict AWS layer (``tests/support/strict_aws.py``: what AWS
    refuses that moto accepts is refused here too, and where moto differs AWS's behaviour is
    restored), reached through AWS_ENDPOINT_URL, with a bucket in each test region; the proxy's
    URL. Every SageMaker test goes through it."""
    return str(strict_aws.url)
