"""The job on its image's own boto3 (1.28.57 / botocore 1.31.57): members that botocore's model
lacks still go out (conditional-write headers, ``SecurityConfig``), and the job checks its bundle.

The probes run on Python 3.9 with exactly the pinned versions, against a stub server on 127.0.0.1
that records every request (``old_botocore_probe.py``).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mimsreg.pipeline.bundle import build_runtime_bundle

PROBE = Path(__file__).with_name("old_botocore_probe.py")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = build_runtime_bundle()
    path = tmp_path_factory.mktemp("bundle") / built.file_name
    path.write_bytes(built.data)
    return path


def probe(python: str, bundle: Path, scenario: str) -> dict[str, Any]:
    process = subprocess.run(
        [python, str(PROBE), str(bundle), scenario],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
            "PATH": "/usr/bin:/bin",
        },
    )
    assert process.returncode == 0, process.stderr
    result: dict[str, Any] = json.loads(process.stdout)
    assert result["botocore"] == "1.31.57"
    return result


@pytest.mark.slow
def test_a_held_lease_is_held_by_someone_else_on_old_botocore(
    python39_image_boto3: str, bundle: Path
) -> None:
    """The create lock's first write carries ``If-None-Match: *`` as a header, and S3's 412
    reads as "held by another writer" (a timeout naming the group), not as a crash."""
    result = probe(python39_image_boto3, bundle, "lock-held")
    first = result["seen"][0]
    assert (first["method"], first["if_none_match"]) == ("PUT", "*")
    assert first["path"] == "/bucket/mimsreg/locks/group.json"
    assert result["outcome"] == "timeout"
    assert "being registered by another writer" in result["message"]


@pytest.mark.slow
def test_an_expired_lease_is_taken_over_with_if_match_on_old_botocore(
    python39_image_boto3: str, bundle: Path
) -> None:
    """An expired lease is taken over by a write conditional on the ETag read (``If-Match``)."""
    result = probe(python39_image_boto3, bundle, "lock-expired")
    methods = [(seen["method"], seen["if_none_match"], seen["if_match"]) for seen in result["seen"]]
    assert methods == [("PUT", "*", None), ("GET", None, None), ("PUT", None, '"held"')]
    assert (result["outcome"], result["etag"]) == ("acquired", '"taken-over"')


@pytest.mark.slow
def test_security_config_is_sent_on_old_botocore(python39_image_boto3: str, bundle: Path) -> None:
    """botocore 1.31.57 refuses ``SecurityConfig`` by itself; through ``adapt_client`` it is
    in the request body exactly as a newer botocore writes it."""
    refused = probe(python39_image_boto3, bundle, "security-config-unadapted")
    assert refused["outcome"] == "ParamValidationError"
    assert 'Unknown parameter in input: "SecurityConfig"' in refused["message"]
    assert refused["seen"] == []
    sent = probe(python39_image_boto3, bundle, "security-config")
    assert sent["outcome"] == "sent"
    (request,) = sent["seen"]
    assert request["target"] == "SageMaker.CreateModelPackage"
    assert json.loads(request["body"]) == {
        "ModelPackageGroupName": "g",
        "ClientToken": "mims-1",
        "SecurityConfig": {"KmsKeyId": "arn:aws:kms:us-east-1:111111111111:key/k"},
    }


@pytest.mark.slow
def test_a_botocore_too_old_is_refused_before_any_write(
    python39: str, tmp_path_factory: pytest.TempPathFactory, bundle: Path
) -> None:
    """On boto3 1.17.52 / botocore 1.20.52 (the XGBoost images' pins) the job stops at start,
    exit 2, naming what that botocore lacks and the image to use instead."""
    from tests.pipeline.conftest import python39_venv

    python = python39_venv(python39, tmp_path_factory, "too-old")
    process = subprocess.run(
        [python, str(bundle), "--spec", "/nonexistent/spec.json", "--region", "us-east-1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={"AWS_EC2_METADATA_DISABLED": "true", "PATH": "/usr/bin:/bin"},
    )
    assert process.returncode == 2, process.stderr
    banner, warning, error = process.stderr.strip().splitlines()
    assert "boto3 1.17.52, botocore 1.20.52" in banner
    assert warning.startswith("warning: botocore 1.20.52 is older than 1.31.57")
    assert error.startswith(
        "error: this image's botocore 1.20.52 lacks PutObject.ChecksumAlgorithm"
    )
    assert "CreateModelPackage.CustomerMetadataProperties" in error
    assert "boto3 >= 1.28.57" in error
