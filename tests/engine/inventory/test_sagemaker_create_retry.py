"""CreateModelPackage is retried by mimsreg, with a lookup before each resend (moto server).

botocore would resend a create whose answer was lost, and moto (like any store without
ClientToken dedupe) would make a second version; these tests lose answers on purpose.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from mimsreg.engine.execute import CREATED, FAILED, execute_plan
from mimsreg.engine.inventory.sagemaker import RegionClients, SageMakerInventory, _is_transient
from tests.support.helpers import make_plan, write_model_archive

pytestmark = pytest.mark.usefixtures("aws")

REGION = "us-east-1"


def inventory_with(create: Any) -> tuple[SageMakerInventory, Any]:
    """An inventory whose CreateModelPackage goes through ``create(real_create, **request)``."""
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    real_create = sagemaker.create_model_package
    sagemaker.create_model_package = lambda **request: create(real_create, **request)
    clients = {
        REGION: RegionClients(s3=boto3.client("s3", region_name=REGION), sagemaker=sagemaker)
    }
    return SageMakerInventory(clients=clients, max_attempts=4), sagemaker


def versions(sagemaker: Any, group: str) -> int:
    listing = sagemaker.list_model_packages(ModelPackageGroupName=group)
    return len(listing["ModelPackageSummaryList"])


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mimsreg.engine.inventory.sagemaker.create.time.sleep", lambda _: None)


@pytest.mark.usefixtures("no_backoff")
def test_a_create_whose_answer_was_lost_is_found_not_made_twice(tmp_path: Path) -> None:
    sent: list[str] = []

    def lose_first_answer(real: Any, **request: Any) -> Any:
        sent.append(request["ClientToken"])
        answer = real(**request)
        if len(sent) == 1:
            raise ConnectionClosedError(endpoint_url="http://127.0.0.1")
        return answer

    artifact = write_model_archive(tmp_path / "model.tar.gz", b"m" * 1000)
    inventory, sagemaker = inventory_with(lose_first_answer)
    [result] = execute_plan(make_plan(artifact, [REGION]), inventory, artifact)
    assert (result.status, result.version) == (CREATED, 1)
    assert len(sent) == 1  # the lookup found it: no resend
    assert versions(sagemaker, result.group) == 1


@pytest.mark.usefixtures("no_backoff")
def test_a_throttled_create_is_sent_again(tmp_path: Path) -> None:
    sent: list[str] = []

    def throttle_twice(real: Any, **request: Any) -> Any:
        sent.append(request["ClientToken"])
        if len(sent) <= 2:
            error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
            raise ClientError(error, "CreateModelPackage")  # type: ignore[arg-type]
        return real(**request)

    artifact = write_model_archive(tmp_path / "model.tar.gz", b"t" * 1000)
    inventory, sagemaker = inventory_with(throttle_twice)
    [result] = execute_plan(make_plan(artifact, [REGION]), inventory, artifact)
    assert (result.status, result.version) == (CREATED, 1)
    assert len(sent) == 3
    assert versions(sagemaker, result.group) == 1


@pytest.mark.usefixtures("no_backoff")
def test_a_create_failing_every_time_stops_after_max_attempts_and_names_the_error(
    tmp_path: Path,
) -> None:
    sent: list[str] = []

    def always_down(real: Any, **request: Any) -> Any:
        sent.append(request["ClientToken"])
        error = {"Error": {"Code": "InternalFailure", "Message": "down"}}
        raise ClientError(error, "CreateModelPackage")  # type: ignore[arg-type]

    artifact = write_model_archive(tmp_path / "model.tar.gz", b"d" * 1000)
    inventory, sagemaker = inventory_with(always_down)
    [result] = execute_plan(make_plan(artifact, [REGION]), inventory, artifact)
    assert result.status == FAILED
    assert "InternalFailure" in str(result.error)
    assert len(sent) == 4
    assert versions(sagemaker, result.group) == 0
    lock_listing = boto3.client("s3", region_name=REGION).list_objects_v2(
        Bucket=f"mimsreg-test-{REGION}", Prefix="mimsreg/locks/"
    )
    assert lock_listing["KeyCount"] == 0  # released on failure too


def test_a_validation_error_is_not_retried(tmp_path: Path) -> None:
    sent: list[str] = []

    def invalid(real: Any, **request: Any) -> Any:
        sent.append(request["ClientToken"])
        error = {"Error": {"Code": "ValidationException", "Message": "bad image"}}
        raise ClientError(error, "CreateModelPackage")  # type: ignore[arg-type]

    artifact = write_model_archive(tmp_path / "model.tar.gz", b"v" * 1000)
    inventory, _ = inventory_with(invalid)
    [result] = execute_plan(make_plan(artifact, [REGION]), inventory, artifact)
    assert result.status == FAILED
    assert "bad image" in str(result.error)
    assert len(sent) == 1


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ClientError({"Error": {"Code": "SlowDown"}}, "PutObject"), True),  # type: ignore[arg-type]
        (
            ClientError(
                {"Error": {"Code": "Odd"}, "ResponseMetadata": {"HTTPStatusCode": 502}},  # type: ignore[typeddict-item]
                "X",
            ),
            True,
        ),
        (ClientError({"Error": {"Code": "ValidationException"}}, "X"), False),  # type: ignore[arg-type]
        (ConnectionClosedError(endpoint_url="http://127.0.0.1"), True),
        (ValueError("not AWS"), False),
    ],
)
def test_which_errors_count_as_transient(error: BaseException, transient: bool) -> None:
    assert _is_transient(error) is transient


def test_the_client_made_for_creates_sends_each_request_once() -> None:
    inventory = SageMakerInventory()
    once = inventory._sagemaker_once(REGION)
    assert once.meta.config.retries["total_max_attempts"] == 1
    assert inventory._sagemaker_once(REGION) is once
    assert inventory._sagemaker(REGION) is not once
