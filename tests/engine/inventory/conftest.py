"""Stub fixtures shared by the SageMaker backend's tests: botocore's Stubber pins what AWS does
where moto differs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from mimsreg.engine.inventory.sagemaker import RegionClients, SageMakerInventory
from mimsreg.engine.plan import RegionPlan
from tests.support.helpers import make_plan, write_model_archive


@pytest.fixture
def stubbed() -> Iterator[tuple[SageMakerInventory, Stubber]]:
    """A backend whose us-east-1 SageMaker client answers only what the test queues."""
    session = boto3.Session(region_name="us-east-1")
    sagemaker = session.client("sagemaker", endpoint_url="http://127.0.0.1:9")
    s3 = session.client("s3", endpoint_url="http://127.0.0.1:9")
    with Stubber(sagemaker) as stubber:
        yield SageMakerInventory(clients={"us-east-1": RegionClients(s3, sagemaker)}), stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def region_plan(tmp_path: Path) -> RegionPlan:
    artifact = write_model_archive(tmp_path / "model.tar.gz")
    return make_plan(artifact, ["us-east-1"]).regions[0]
