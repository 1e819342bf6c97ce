"""No telemetry leaves a test: SDK v3 sends a request from ``ScriptProcessor.run`` (v2 does not)
unless its defaults file opts out, and every defaults file the tests use does."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.conftest import ROLE, definition_of, write_sdk_defaults

# The SDK's major version, without importing it at collection (v3 makes a session on import).
MAJOR = int(importlib.metadata.version("sagemaker").split(".", 1)[0])
TELEMETRY_MODULE = (
    "sagemaker.core.telemetry.telemetry_logging"
    if MAJOR >= 3
    else "sagemaker.telemetry.telemetry_logging"
)


@pytest.fixture
def telemetry_requests(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every telemetry request the SDK tries to send, recorded instead of sent."""
    import importlib

    sent: list[tuple[Any, ...]] = []
    module = importlib.import_module(TELEMETRY_MODULE)
    monkeypatch.setattr(module, "_send_telemetry_request", lambda *args, **kw: sent.append(args))
    return sent


def render_two_regions(make_builder: Callable[..., Any]) -> None:
    builder = make_builder()
    steps = builder.create_step(
        packaging_step_output="s3://packaging-bucket/packaged/", regions=["us-east-1", "eu-west-1"]
    )
    definition_of(builder, list(steps.values()))


def test_rendering_sends_no_telemetry_with_the_tests_sdk_defaults(
    make_builder: Callable[..., Any], telemetry_requests: list[tuple[Any, ...]]
) -> None:
    render_two_regions(make_builder)
    assert telemetry_requests == []


@pytest.mark.skipif(MAJOR < 3, reason="SDK v2's ScriptProcessor.run sends no telemetry")
def test_without_the_opt_out_sdk_v3_would_send_it(
    make_builder: Callable[..., Any],
    telemetry_requests: list[tuple[Any, ...]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control: the recorder does see v3's requests when the defaults file allows them."""
    path = write_sdk_defaults(tmp_path / "telemetry-on.yaml", role=ROLE, telemetry=True)
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(path))
    render_two_regions(make_builder)
    assert len(telemetry_requests) >= 2  # one ScriptProcessor.run per region
