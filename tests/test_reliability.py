"""Smoke runs of reliability/faults.py and reliability/concurrency.py (the full runs are
`make reliability-faults` and `make reliability-concurrency`), and the fault proxy's faults."""

from __future__ import annotations

import random
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError
from reliability.concurrency import DIFFERENT, SAME, race
from reliability.crash import REGIONS, LocalTarget, SageMakerTarget, Verdict, tally
from reliability.fault_proxy import fault_proxy
from reliability.faults import run_rate

from tests.conftest import TEST_BUCKET


def no_retries(service: str, endpoint: str) -> object:
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint, config=config)


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("kind", "service", "expected"),
    [
        ("internal", "s3", "InternalError"),
        ("throttle", "s3", "SlowDown"),
        ("internal", "sagemaker", "InternalFailure"),
        ("throttle", "sagemaker", "ThrottlingException"),
    ],
)
def test_the_proxy_answers_errors_as_aws_would(
    moto_server: str, monkeypatch: pytest.MonkeyPatch, kind: str, service: str, expected: str
) -> None:
    with fault_proxy(moto_server, rate=1.0, seed=1) as proxy:
        monkeypatch.setattr("reliability.fault_proxy.KINDS", (kind,))
        client = no_retries(service, proxy.url)
        call = (
            (lambda: client.list_objects_v2(Bucket=TEST_BUCKET.format(region="us-east-1")))  # type: ignore[attr-defined]
            if service == "s3"
            else client.list_model_package_groups  # type: ignore[attr-defined]
        )
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == expected
        assert proxy.faults[kind] == 1


@pytest.mark.usefixtures("aws")
def test_a_reset_after_forwarding_loses_the_answer_of_a_request_that_happened(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fault_proxy(moto_server, rate=1.0, seed=1) as proxy:
        monkeypatch.setattr("reliability.fault_proxy.KINDS", ("reset-after",))
        s3 = no_retries("s3", proxy.url)
        bucket = TEST_BUCKET.format(region="us-east-1")
        with pytest.raises(ConnectionClosedError):
            s3.put_object(Bucket=bucket, Key="k", Body=b"x")  # type: ignore[attr-defined]
        proxy.rate = 0.0
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"  # type: ignore[attr-defined]


@pytest.mark.usefixtures("aws")
def test_registrations_through_a_faulty_proxy_end_created_or_unchanged(
    tmp_path: Path, moto_server: str
) -> None:
    target = SageMakerTarget(tmp_path, moto_server)
    work = tmp_path / "work"
    work.mkdir()
    expected: set[tuple[str, str, int]] = set()
    with fault_proxy(moto_server, rate=0.2, seed=7) as proxy:
        env = {**target.env(), "AWS_ENDPOINT_URL": proxy.url}
        outcome = run_rate(proxy, 0.2, 2, work, env, random.Random(7), expected, "smoke", log=str)
    assert outcome.statuses == {"created": len(REGIONS), "unchanged": len(REGIONS)}
    assert outcome.exit_codes == {0: 2}
    assert outcome.unclear == []
    assert outcome.requests > 0
    verdict = Verdict("sagemaker")
    tally(verdict, target, target.versions(verdict), expected)
    assert verdict.problems == []
    assert (verdict.versions, verdict.duplicates) == (len(REGIONS), 0)


@pytest.mark.parametrize("scenario", [SAME, DIFFERENT])
def test_three_local_processes_at_once(tmp_path: Path, scenario: str) -> None:
    expected: set[tuple[str, str, int]] = set()
    outcome = race(LocalTarget(tmp_path), scenario, 0, 3, random.Random(3), expected)
    assert outcome.problems == []
    assert outcome.exit_codes == {0: 3}
    want = [1] if scenario == SAME else [1, 2, 3]
    assert outcome.versions == dict.fromkeys(REGIONS, want)


@pytest.mark.usefixtures("aws")
def test_three_sagemaker_processes_registering_the_same_model_make_one_version(
    tmp_path: Path, moto_server: str
) -> None:
    expected: set[tuple[str, str, int]] = set()
    target = SageMakerTarget(tmp_path, moto_server)
    outcome = race(target, SAME, 0, 3, random.Random(5), expected)
    assert outcome.problems == []
    assert outcome.statuses == {"created": len(REGIONS), "unchanged": 2 * len(REGIONS)}
    assert outcome.versions == {region: [1] for region in REGIONS}
