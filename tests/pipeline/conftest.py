"""Fixtures of the pipeline-step tests: SageMaker SDK defaults isolated, builders, Python 3.9."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SEED_EXAMPLE, TEST_BUCKET, free_port

ROLE = "arn:aws:iam::111111111111:role/mimsreg-registration"
BUCKET = TEST_BUCKET


# The SDK's defaults file that opts out of telemetry (SDK v3 sends it from ScriptProcessor.run);
# every defaults file the tests install opts out too, so no test sends a request to AWS.
TELEMETRY_OPT_OUT_FILE = Path(__file__).with_name("sdk-defaults-telemetry-opt-out.yaml")


def write_sdk_defaults(
    path: Path, role: str | None = None, bucket: str | None = None, telemetry: bool = False
) -> Path:
    """A SageMaker SDK defaults file (``SAGEMAKER_USER_CONFIG_OVERRIDE``) with a role, a bucket,
    and telemetry off unless ``telemetry``."""
    lines = ["SchemaVersion: '1.0'", "SageMaker:", "  PythonSDK:", "    Modules:"]
    if not telemetry:
        lines += ["      TelemetryOptOut: true"]
    if bucket is not None:
        lines += ["      Session:", f"        DefaultS3Bucket: {bucket}"]
    if len(lines) == 4:
        lines = lines[:2]
    if role is not None:
        lines += ["  ProcessingJob:", f"    RoleArn: {role}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _isolated_sdk_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No SageMaker SDK defaults file of the machine leaks into a test: the user's is one that
    only opts out of telemetry, the administrator's is empty."""
    empty = tmp_path / "sagemaker-sdk-defaults-empty.yaml"
    empty.write_text("{}\n", encoding="utf-8")
    monkeypatch.setenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", str(empty))
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(TELEMETRY_OPT_OUT_FILE))
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


# The boto3/botocore the default processing image (scikit-learn 1.2-1) pins, and the newest.
IMAGE_BOTO3 = ["boto3==1.28.57", "botocore==1.31.57"]
JOB_BOTO3 = {
    "image-1.2-1": IMAGE_BOTO3,
    "newest": ["boto3"],
}
# The XGBoost images' boto3: older than the job can use (no flexible checksums, no metadata).
TOO_OLD_BOTO3 = ["boto3==1.17.52", "botocore==1.20.52"]
_VENVS: dict[str, str] = {}


def python39_venv(python39: str, factory: pytest.TempPathFactory, name: str) -> str:
    """A Python 3.9 virtualenv holding only the boto3 of ``JOB_BOTO3[name]`` (else the too old
    one), made once per test session from PyPI (about 10 s)."""
    if name in _VENVS:
        return _VENVS[name]
    venv = factory.mktemp(f"py39-boto3-{name}")
    subprocess.run([python39, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = str(venv / "bin" / "python")
    pins = JOB_BOTO3.get(name) or TOO_OLD_BOTO3
    result = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pins],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"cannot install {pins} for Python 3.9: {result.stderr}")
    _VENVS[name] = python
    return python


@pytest.fixture(scope="session", params=sorted(JOB_BOTO3))
def python39_boto3(
    python39: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    """Python 3.9 with only boto3, as stock scikit-learn processing images offer: once with the
    boto3/botocore the default image pins, once with the newest."""
    return python39_venv(python39, tmp_path_factory, request.param)


@pytest.fixture(scope="session")
def python39_image_boto3(python39: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Python 3.9 with exactly the boto3/botocore of the default processing image."""
    return python39_venv(python39, tmp_path_factory, "image-1.2-1")


@pytest.fixture(scope="session")
def closed_port() -> int:
    """A loopback port nothing listens on: a connection attempt fails at once."""
    return free_port()


@pytest.fixture
def moto(aws: str) -> str:
    """The session's moto server, reset, reached through AWS_ENDPOINT_URL, a bucket per region."""
    return aws


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """SDK v3 moved modules and left shims that warn DeprecationWarning when the SDK imports them
    itself (sagemaker.train.configs, sagemaker.serve.async_inference, ...): not ours to fix, and
    the suite turns warnings into errors, so under v3 these, and only these, are ignored."""
    import importlib.metadata

    if importlib.metadata.version("sagemaker").split(".", 1)[0] != "2":
        ignore = pytest.mark.filterwarnings(r"ignore:.*\bsagemaker\.:DeprecationWarning")
        for item in items:
            item.add_marker(ignore)
