"""The pipeline definition: offline (no credentials, no network), byte-identical, snapshot."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.pipeline.conftest import TELEMETRY_OPT_OUT_FILE, definition_of, seed_config

# One snapshot per SDK major version: v3 adds "MlflowConfig": null at the top, and may drift.
_SDK_MAJOR = importlib.metadata.version("sagemaker").split(".", 1)[0]
SNAPSHOT = (
    REPO_ROOT
    / "tests"
    / "snapshots"
    / (
        "pipeline_definition.json"
        if _SDK_MAJOR == "2"
        else f"pipeline_definition-v{_SDK_MAJOR}.json"
    )
)
UPDATE_ENV = "MIMSREG_UPDATE_SNAPSHOTS"

# Renders the seed pipeline twice in a fresh interpreter, counting every socket connection.
RENDER = """
import json, socket, sys, time
attempts = []
for name in ("connect", "connect_ex"):
    original = getattr(socket.socket, name)
    def guard(self, address, _original=original):
        attempts.append(repr(address))
        return _original(self, address)
    setattr(socket.socket, name, guard)
started = time.perf_counter()
import boto3
from mimsreg import ModelRegistrationConfig, ModelRegistrationStepBuilder
imported = time.perf_counter()
config = ModelRegistrationConfig.model_validate(json.loads(sys.argv[1]))
builder = ModelRegistrationStepBuilder(config)
steps = builder.create_step("s3://mimsreg-test-us-east-1/packaged/", regions=["NA", "EU"])
pipeline = builder.pipeline("mimsreg-offline", steps)
built = time.perf_counter()
first = pipeline.definition()
rendered = time.perf_counter()
second = pipeline.definition()
print(json.dumps({
    "first": first, "second": second, "connections": attempts,
    "credentials": boto3.Session().get_credentials() is not None,
    "seconds": {"import": imported - started, "build": built - imported,
                "definition": rendered - built},
}))
"""


def offline_environment(tmp_path: Path, closed_port: int) -> dict[str, str]:
    """No AWS credentials anywhere, the endpoint a closed loopback port, no instance metadata."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    tmp_path.mkdir(parents=True, exist_ok=True)
    empty = tmp_path / "empty.yaml"
    empty.write_text("{}\n", encoding="utf-8")
    env.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port}",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
            "HOME": str(tmp_path),
            "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
            "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(empty),
            "SAGEMAKER_USER_CONFIG_OVERRIDE": str(TELEMETRY_OPT_OUT_FILE),
        }
    )
    return env


def render_offline(folders: list[Path], closed_port: int) -> list[dict[str, Any]]:
    """Render in one fresh interpreter per folder (HOME), all at once."""
    config = json.dumps(seed_config().model_dump(mode="json"))
    processes = [
        subprocess.Popen(
            [sys.executable, "-W", "error", "-c", RENDER, config],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=offline_environment(folder, closed_port),
        )
        for folder in folders
    ]
    reports = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        reports.append(dict(json.loads(stdout.strip().splitlines()[-1])))
    return reports


@pytest.mark.slow
def test_definition_renders_offline_and_identically(tmp_path: Path, closed_port: int) -> None:
    """Without credentials and with AWS_ENDPOINT_URL on a closed port, nothing connects, and two
    renders in one process and in two processes give the same bytes."""
    one, two = render_offline([tmp_path / "one", tmp_path / "two"], closed_port)
    assert one["credentials"] is False
    assert one["connections"] == []
    assert two["connections"] == []
    assert one["first"] == one["second"]
    assert one["first"] == two["first"]
    steps = json.loads(one["first"])["Steps"]
    assert [step["Name"] for step in steps] == [
        "MimsModelRegistration-us-east-1",
        "MimsModelRegistration-eu-west-1",
    ]


def test_definition_holds_no_timestamp_or_generated_name(make_builder: Any) -> None:
    """No job names (the SDK's carry a timestamp) and no dates anywhere in the definition."""
    builder = make_builder()
    text = builder.pipeline("mimsreg-test", [builder.create_step("s3://bucket-a/m/")]).definition()
    assert "ProcessingJobName" not in text
    definition = json.loads(text)
    assert definition.pop("Version") == "2020-12-01"  # the definition schema's version
    assert not re.search(r"20\d\d-\d\d-\d\d|\d\d:\d\d:\d\d", json.dumps(definition))


def normalised(definition: dict[str, Any], bundle_sha256: str) -> dict[str, Any]:
    """The definition with the bundle digest masked: it changes with every source edit."""
    text = json.dumps(definition, indent=2, sort_keys=True)
    return dict(json.loads(text.replace(bundle_sha256, "<runtime-bundle-sha256>")))


def test_definition_snapshot(make_builder: Any) -> None:
    """The seed pipeline's definition, two regions and a payload, matches the committed
    snapshot (regenerate with MIMSREG_UPDATE_SNAPSHOTS=1)."""
    from tests.pipeline.sdk import CacheConfig

    builder = make_builder(cache_config=CacheConfig(enable_caching=True, expire_after="P7D"))
    steps = builder.create_step(
        "s3://mimsreg-test-us-east-1/packaged/",
        regions=["NA", "EU"],
        payload="s3://mimsreg-test-us-east-1/payload/payload.tar.gz",
    )
    actual = normalised(definition_of(builder, steps, "mimsreg-snapshot"), builder.bundle.sha256)
    if os.environ.get(UPDATE_ENV) == "1":
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert actual == expected, f"definition changed: review it, then {UPDATE_ENV}=1 pytest"


def test_spec_document_is_canonical(make_builder: Any) -> None:
    """The shipped spec is compact, key-sorted JSON that reads back to the same spec."""
    from mimsreg.engine.spec import RegistrationSpec

    builder = make_builder()
    data = json.loads(builder.spec_document)
    assert builder.spec_document == json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    assert RegistrationSpec.from_dict(data) == builder.spec
