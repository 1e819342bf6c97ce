"""Against an endpoint nobody answers, the SageMaker inventory's commands fail on one line.

botocore's connection error is mapped to the error tree at the backend's boundary: exit 1, one
line naming the endpoint and the region, no traceback.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from tests.conftest import SEED_EXAMPLE, TEST_BUCKET
from tests.support.cli import invoke
from tests.support.helpers import write_model_archive


@pytest.fixture
def closed_endpoint(monkeypatch: pytest.MonkeyPatch) -> str:
    """AWS_ENDPOINT_URL on a 127.0.0.1 port that was free a moment ago (nothing listens)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    return endpoint


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        ("list",),
        ("show", "Group/1"),
        ("approve", "Group/1", "--note", "n"),
        ("gc", "--bucket", "b-{region}"),
    ],
    ids=lambda command: command[0],
)
def test_an_unreachable_endpoint_is_one_line_and_exit_1(
    closed_endpoint: str, command: tuple[str, ...]
) -> None:
    """list, show, approve and gc name the endpoint and the region, without a traceback."""
    result = invoke(*command, "--inventory", "sagemaker")
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot reach AWS (region eu-west-1)")
    assert closed_endpoint in lines[0]
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


@pytest.mark.slow
def test_register_against_an_unreachable_endpoint_is_one_line_and_exit_1(
    closed_endpoint: str, tmp_path: Path
) -> None:
    """The bucket check before any write is mapped too: one line, exit 1, nothing written."""
    model = write_model_archive(tmp_path / "model.tar.gz")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({**SEED_EXAMPLE, "bucket": TEST_BUCKET}))
    result = invoke("register", model, "--config", config, "--inventory", "sagemaker")
    assert result.exit_code == 1, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("error: cannot reach AWS (region us-east-1")
    assert closed_endpoint in line
