"""upload_runtime (idempotent, verified by S3), `mimsreg pipeline`, and the missing-SDK message."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mimsreg.errors import MimsregError, MissingDependencyError
from tests.pipeline.conftest import ROLE
from tests.support.cli import invoke

Builder = Callable[..., Any]


def test_upload_puts_both_files_once(moto: str, make_builder: Builder) -> None:
    """First call uploads the bundle and the spec; later calls find them and skip."""
    import boto3

    builder = make_builder()
    first = builder.upload_runtime()
    assert [(u.uri, u.status) for u in first] == [
        (builder.runtime_uri, "uploaded"),
        (builder.spec_uri, "uploaded"),
    ]
    assert [u.status for u in make_builder().upload_runtime()] == ["exists", "exists"]
    s3 = boto3.client("s3", region_name="us-east-1")
    bucket, _, key = builder.runtime_uri[len("s3://") :].partition("/")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == builder.bundle.data
    assert first[0].to_dict() == {
        "uri": builder.runtime_uri,
        "size": len(builder.bundle.data),
        "status": "uploaded",
    }


def test_upload_with_a_given_client(moto: str, make_builder: Builder) -> None:
    import boto3

    client = boto3.client("s3", region_name="us-east-1")
    assert [u.status for u in make_builder().upload_runtime(client)] == ["uploaded", "uploaded"]


def test_upload_refuses_a_foreign_object_at_the_key(moto: str, make_builder: Builder) -> None:
    """A content-addressed key holding other bytes is reported, not silently kept."""
    import boto3

    builder = make_builder()
    bucket, _, key = builder.spec_uri[len("s3://") :].partition("/")
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=bucket, Key=key, Body=b"x")
    with pytest.raises(MimsregError, match="holds something else"):
        builder.upload_runtime()


@pytest.mark.parametrize("with_checksum", [True, False])
def test_upload_refuses_other_bytes_of_the_same_size(
    moto: str, make_builder: Builder, with_checksum: bool
) -> None:
    """An object of the bundle's size but other bytes is refused: judged by S3's SHA-256
    checksum where the object has one, else by the bytes read back (never by size alone)."""
    import base64
    import hashlib

    import boto3

    builder = make_builder()
    bucket, _, key = builder.runtime_uri[len("s3://") :].partition("/")
    forged = bytes(len(builder.bundle.data))
    extra = {}
    if with_checksum:
        extra["ChecksumSHA256"] = base64.b64encode(hashlib.sha256(forged).digest()).decode()
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=bucket, Key=key, Body=forged, **extra
    )
    with pytest.raises(MimsregError, match="holds something else"):
        builder.upload_runtime()


def test_upload_accepts_the_right_bytes_without_a_checksum(
    moto: str, make_builder: Builder
) -> None:
    """The right bytes put there without a checksum (another tool) are read back and kept."""
    import boto3

    builder = make_builder()
    s3 = boto3.client("s3", region_name="us-east-1")
    for uri, data, _ in builder.files_to_upload():
        bucket, _, key = uri[len("s3://") :].partition("/")
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    assert [u.status for u in builder.upload_runtime()] == ["exists", "exists"]


def test_upload_errors_are_mimsreg_errors(moto: str, make_builder: Builder) -> None:
    """A bucket that does not exist: a MimsregError naming the URI."""
    builder = make_builder(bucket="no-such-bucket-{region}")
    with pytest.raises(MimsregError, match="s3://no-such-bucket-us-east-1/"):
        builder.upload_runtime()


def test_put_failure_is_a_mimsreg_error(make_builder: Builder) -> None:
    """S3 refusing the write (here: a client whose put always fails) is reported by URI."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("s3", region_name="us-east-1")
    builder = make_builder()
    with Stubber(client) as stub:
        stub.add_client_error("head_object", "404", http_status_code=404)
        stub.add_client_error("put_object", "AccessDenied", http_status_code=403)
        with pytest.raises(MimsregError, match="cannot upload s3://"):
            builder.upload_runtime(client)


def test_head_failure_is_a_mimsreg_error(make_builder: Builder) -> None:
    """Anything but 'not found' from HEAD (here: access denied) stops the upload."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("s3", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("head_object", "403", http_status_code=403)
        with pytest.raises(MimsregError, match="cannot check s3://"):
            make_builder().upload_runtime(client)


# --- the CLI -----------------------------------------------------------------------------------
@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    from tests.conftest import SEED_EXAMPLE

    path = tmp_path / "config.json"
    data = {**SEED_EXAMPLE, "role": ROLE, "bucket": "mimsreg-test-{region}"}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_pipeline_command_prints_the_definition(config_file: Path) -> None:
    """stdout is exactly the definition JSON: the SDK's log lines stay off it."""
    result = invoke(
        *[
            "pipeline",
            str(config_file),
            "--packaged-model",
            "s3://mimsreg-test-us-east-1/packaged/",
            "--region",
            "NA,EU",
            "--payload",
            "s3://mimsreg-test-us-east-1/payload/",
        ],
    )
    assert result.exit_code == 0, result.output
    definition = json.loads(result.stdout)
    assert [p["Name"] for p in definition["Parameters"]] == ["PackagedModelUri", "PayloadUri"]
    assert [s["Name"] for s in definition["Steps"]] == [
        "MimsModelRegistration-us-east-1",
        "MimsModelRegistration-eu-west-1",
    ]
    model_input = definition["Steps"][0]["Arguments"]["ProcessingInputs"][0]["S3Input"]
    assert model_input["S3Uri"] == {"Get": "Parameters.PackagedModelUri"}


def test_pipeline_command_writes_a_file_and_uploads(
    moto: str, config_file: Path, tmp_path: Path
) -> None:
    """-o writes the file; --upload reports what it put in S3, on stderr."""
    output = tmp_path / "out" / "definition.json"
    output.parent.mkdir()
    args = [
        "pipeline",
        str(config_file),
        "--packaged-model",
        "s3://mimsreg-test-us-east-1/packaged/",
        "--name",
        "fraud-registration",
        "-o",
        str(output),
        "--upload",
    ]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr.count("uploaded: s3://mimsreg-test-us-east-1/mimsreg/") == 2
    assert json.loads(output.read_text(encoding="utf-8"))["Steps"][0]["Name"] == (
        "MimsModelRegistration-us-east-1"
    )
    again = invoke(*args)
    assert again.stderr.count("exists: ") == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--region", "moon-1"], "'moon-1'"),
        (["--name", "bad name"], "not a valid pipeline name"),
        (["--role", "MyRole"], "not an IAM role ARN"),
    ],
)
def test_pipeline_command_bad_input_exits_2(
    config_file: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    """Bad input: exit 2, one line, and no file written."""
    output = tmp_path / "definition.json"
    args = ["pipeline", str(config_file), "--packaged-model", "s3://bucket-a/m/", "-o", str(output)]
    result = invoke(*args, *extra)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not output.exists()


def test_pipeline_command_bad_packaged_model(config_file: Path) -> None:
    result = invoke("pipeline", str(config_file), "--packaged-model", "model.tar.gz")
    assert result.exit_code == 2
    assert "is not an s3:// URI" in result.stderr


def test_pipeline_command_failed_upload_writes_nothing(
    moto: str, config_file: Path, tmp_path: Path
) -> None:
    """An upload that fails exits 1 and leaves no definition file behind."""
    output = tmp_path / "definition.json"
    result = invoke(
        *[
            "pipeline",
            str(config_file),
            "--packaged-model",
            "s3://bucket-a/m/",
            "--bucket",
            "missing-{region}",
            "--upload",
            "-o",
            str(output),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "cannot upload s3://missing-us-east-1/" in result.stderr
    assert not output.exists()


# --- the SDK is an extra -----------------------------------------------------------------------
def test_missing_sdk_names_the_extra() -> None:
    """Without the SDK, making a builder raises MissingDependencyError with the pip line."""
    code = (
        "import sys\n"
        "sys.modules['sagemaker'] = None  # as if not installed\n"
        "from mimsreg import ModelRegistrationStepBuilder, MissingDependencyError\n"
        "try:\n"
        "    ModelRegistrationStepBuilder({'model_registration_objective': 'x'})\n"
        "except MissingDependencyError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "pip install 'mimsreg[pipelines]'" in result.stdout


def test_sdk_not_installed_or_an_unsupported_major(monkeypatch: pytest.MonkeyPatch) -> None:
    """No distribution at all, or an SDK major we have no adapter for: the hint, the version."""
    from mimsreg.pipeline import _adapter

    monkeypatch.setattr(_adapter, "_sdk_version", lambda: None)
    with pytest.raises(MissingDependencyError, match=r"sagemaker>=2.200,<3.*mimsreg\[pipelines\]"):
        _adapter.load_adapter()
    monkeypatch.setattr(_adapter, "_sdk_version", lambda: "4.0.0")
    with pytest.raises(
        MissingDependencyError, match=r"found sagemaker 4\.0\.0.*mimsreg\[pipelines-v3\]"
    ):
        _adapter.load_adapter()


def test_the_adapter_in_use_is_the_one_for_the_installed_sdk() -> None:
    """``MIMSREG_EXPECT_SDK`` (set by ``make test``: 2, ``make check-v3``: 3) guards against a run
    that silently tests the other SDK."""
    import os

    from mimsreg.pipeline._adapter import _sdk_version, load_adapter

    expected = os.environ.get("MIMSREG_EXPECT_SDK")
    major = (_sdk_version() or "").split(".", 1)[0]
    if expected:
        assert major == expected
    assert load_adapter().name == f"sagemaker-v{major}"


def test_adapter_import_failure_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK distribution is there but does not import: the same hint, with the cause."""
    from mimsreg.pipeline import _adapter
    from tests.pipeline.sdk import MAJOR

    monkeypatch.setitem(sys.modules, f"mimsreg.pipeline._sdk_v{MAJOR}", None)
    with pytest.raises(MissingDependencyError, match="cannot import") as caught:
        _adapter.load_adapter()
    assert isinstance(caught.value.__cause__, ImportError)


def test_sdk_version_of_a_missing_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    from mimsreg.pipeline._adapter import _sdk_version

    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert _sdk_version() is None


def test_sdk_warnings_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """After load_sdk_quietly, the SDK's warnings reach stderr, never stdout."""
    import logging

    from mimsreg.pipeline.render import load_sdk_quietly

    load_sdk_quietly()
    logging.getLogger("sagemaker.session").warning("a warning from the SDK")
    logging.getLogger("sagemaker.session").info("an info line")
    captured = capsys.readouterr()
    assert "a warning from the SDK" in captured.err
    assert "an info line" not in captured.err + captured.out
    assert captured.out == ""


def test_pipeline_parameter_without_default(make_builder: Builder) -> None:
    parameter = make_builder().string_parameter("Model")
    assert parameter.default_value is None
