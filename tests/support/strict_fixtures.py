"""pytest fixtures of the strict AWS layer: the proxy in front of the session's moto server.

Use: ``strict_aws`` (a clean moto, a bucket per test region, ``AWS_ENDPOINT_URL`` pointing at the
proxy; the fixture's value is the proxy, whose ``refusals`` and ``requests`` a test can read, and
whose ``enabled`` rule set it may narrow). Import the fixtures into a conftest or test module.
"""

from __future__ import annotations

import subprocess
import urllib.request
from collections.abc import Iterator
from typing import Any, cast

import pytest

from tests.support.strict_aws import StrictAwsServer, strict_aws_proxy

__all__ = ["python39_old_boto3", "strict_aws", "strict_aws_server"]

# What the stock scikit-learn 1.2-1 processing image pins (its requirements file).
OLD_BOTO3 = ("boto3==1.28.57", "botocore==1.31.57")


@pytest.fixture(scope="session")
def strict_aws_server(moto_server: str) -> Iterator[StrictAwsServer]:
    """The strict proxy in front of the session's moto server, for the whole session."""
    with strict_aws_proxy(moto_server) as server:
        yield server


@pytest.fixture
def strict_aws(
    strict_aws_server: StrictAwsServer, moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StrictAwsServer]:
    """A clean moto behind the strict proxy, reached through AWS_ENDPOINT_URL, a bucket in each
    test region; every rule enabled, no refusal and no request counted yet. A fault of the proxy
    itself during the test fails it at teardown."""
    import boto3

    # Here, not at the top: tests/conftest.py may import this module while it is being loaded.
    from tests.conftest import TEST_BUCKET, TEST_REGIONS

    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
    strict_aws_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", strict_aws_server.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for region in TEST_REGIONS:
        s3 = boto3.client("s3", region_name=region)
        bucket = TEST_BUCKET.format(region=region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket,
                CreateBucketConfiguration={"LocationConstraint": cast(Any, region)},
            )
    strict_aws_server.reset()  # the set-up's requests are not the test's
    yield strict_aws_server
    assert strict_aws_server.errors == [], "\n".join(strict_aws_server.errors)


@pytest.fixture(scope="session")
def python39_old_boto3(python39: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Python 3.9 virtualenv with the boto3/botocore of the stock processing images (botocore
    1.31.57: no IfNoneMatch parameter). Made once per session from PyPI."""
    venv = tmp_path_factory.mktemp("py39-old-boto3")
    subprocess.run([python39, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = str(venv / "bin" / "python")
    result = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *OLD_BOTO3],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"cannot install {' '.join(OLD_BOTO3)} for Python 3.9: {result.stderr}")
    return python
