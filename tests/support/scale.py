"""An inventory of many versions, built straight into moto with boto3 (not through mimsreg's
register flow, which would take hours at 30,000 versions): groups and versions as mimsreg makes
them, their CreateModelPackage requests built by mimsreg's own request builder, so listing them
reads what a real inventory holds. Used by the reading-at-scale tests and ``bench/bench_list.py``.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mimsreg.engine.inventory.sagemaker import KEY_PREFIX, SageMakerInventory, s3_uri
from mimsreg.engine.plan import RegionPlan
from tests.support.helpers import make_plan, write_model_archive

__all__ = ["Scale", "expected_summaries", "group_name", "populate"]

OWNERS = ("team-fraud", "team-search", "team-ads", "team-risk")
DOMAINS = ("BuyerSellerMessaging", "Search", "Advertising")


@dataclass(frozen=True)
class Scale:
    regions: tuple[str, ...]
    groups: int  # per region
    versions: int  # per region, spread evenly over the groups

    @property
    def per_group(self) -> int:
        return self.versions // self.groups


def group_name(index: int) -> str:
    return f"ScaleGroup-{index:04d}"


def _plan(region: str) -> RegionPlan:
    with tempfile.TemporaryDirectory() as tmp:
        artifact = write_model_archive(Path(tmp) / "model.tar.gz")
        return make_plan(artifact, [region]).regions[0]


def _version_request(base: RegionPlan, group: int, version: int, bucket: str) -> dict[str, Any]:
    digest = hashlib.sha256(f"{base.region}/{group}/{version}".encode()).hexdigest()
    identity = hashlib.sha256(f"identity/{digest}".encode()).hexdigest()
    record = {
        **base.record,
        "model_owner": OWNERS[group % len(OWNERS)],
        "model_registration_domain": DOMAINS[group % len(DOMAINS)],
        "model_registration_objective": f"Objective{group:04d}",
    }
    plan = replace(base, group=group_name(group), identity=identity, sha256=digest, record=record)
    key = f"{KEY_PREFIX}artifacts/sha256/{digest}/model.tar.gz"
    return SageMakerInventory.create_request(
        plan,
        s3_uri(bucket, key),
        s3_uri(bucket, f"{KEY_PREFIX}schemas/{identity}.json"),
        s3_uri(bucket, f"{KEY_PREFIX}records/{identity}.json"),
    )


def populate(
    scale: Scale,
    sagemaker: Callable[[str], Any],
    bucket: str = "mimsreg-test-{region}",
    *,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Create ``scale``'s groups and versions in each region; ``sagemaker(region)``: a client.

    Regions are filled in parallel, one thread each, and each region's versions in order, one
    at a time: moto's CreateModelPackage walks the region's packages while it adds one, so two
    creates in one region at once can fail (its dictionary changes size under the walk).
    Clients are made here, in this thread (they are thread-safe once made)."""
    clients = {region: sagemaker(region) for region in scale.regions}
    done = [0]
    lock = threading.Lock()

    def fill(region: str) -> None:
        client, base, name = clients[region], _plan(region), bucket.format(region=region)
        for group in range(scale.groups):
            client.create_model_package_group(
                ModelPackageGroupName=group_name(group),
                ModelPackageGroupDescription=f"{DOMAINS[group % len(DOMAINS)]} (mimsreg)",
                Tags=[{"Key": "mimsreg:managed", "Value": "true"}],
            )
        for group in range(scale.groups):
            for version in range(scale.per_group):  # in order: version n is request n
                client.create_model_package(**_version_request(base, group, version, name))
            with lock:
                done[0] += scale.per_group
                if progress is not None:
                    progress(done[0])

    with ThreadPoolExecutor(len(scale.regions)) as pool:
        list(pool.map(fill, scale.regions))


def expected_summaries(scale: Scale) -> Sequence[tuple[str, str, int, str]]:
    """(group, region, version, sha256) of every version ``populate`` makes, in list order."""
    rows = []
    for region in scale.regions:
        for group in range(scale.groups):
            for version in range(scale.per_group):
                digest = hashlib.sha256(f"{region}/{group}/{version}".encode()).hexdigest()
                rows.append((group_name(group), region, version + 1, digest))
    return sorted(rows)
