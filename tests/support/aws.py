"""AWS helpers shared by tests: real boto3 clients (against moto) whose calls are counted."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3

from mimsreg.engine.inventory.sagemaker import RegionClients
from tests.conftest import TEST_REGIONS

__all__ = ["counted_clients"]


def counted_clients(calls: Counter[str]) -> dict[str, RegionClients]:
    """Real boto3 clients per region whose S3 and SageMaker calls are counted."""
    session = boto3.Session()
    clients = {}
    for region in TEST_REGIONS:
        pair = RegionClients(
            s3=session.client("s3", region_name=region),
            sagemaker=session.client("sagemaker", region_name=region),
        )
        for client in (pair.s3, pair.sagemaker):

            def count(model: Any, region: str = region, **_: Any) -> None:
                calls[f"{region}:{model.name}"] += 1

            client.meta.events.register("before-call.*.*", count)
        clients[region] = pair
    return clients
