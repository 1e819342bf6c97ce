"""Shared fixtures. Tests never reach the network: fake AWS credentials, no instance metadata."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

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
