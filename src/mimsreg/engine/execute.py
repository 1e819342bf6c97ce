"""Run a registration plan against an inventory: regions in parallel, one result per region.

Portable (Python 3.9, standard library). A failing region never stops the others; the result says
why it failed. Re-running the same plan returns the existing versions as ``unchanged``.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mimsreg.engine.errors import MimsregError
from mimsreg.engine.inventory.base import Inventory, Progress, VersionRecord
from mimsreg.engine.plan import RegionPlan, RegistrationPlan

__all__ = [
    "CREATED",
    "FAILED",
    "PLANNED",
    "UNCHANGED",
    "WOULD_CREATE",
    "RegistrationResult",
    "execute_plan",
    "preview_plan",
]

CREATED = "created"
UNCHANGED = "unchanged"
FAILED = "failed"
PLANNED = "planned"
WOULD_CREATE = "would-create"  # a dry run that asked the inventory: the version is not there


@dataclass(frozen=True)
class RegistrationResult:
    """What happened in one region."""

    region: str
    group: str
    version: int | None
    id: str | None
    sha256: str
    status: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in (CREATED, UNCHANGED, PLANNED, WOULD_CREATE)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "region": self.region,
            "group": self.group,
            "version": self.version,
            "id": self.id,
            "sha256": self.sha256,
            "status": self.status,
        }
        if self.error is not None:
            data["error"] = self.error
        return data

    @classmethod
    def from_record(cls, record: VersionRecord, status: str) -> RegistrationResult:
        return cls(record.region, record.group, record.version, record.id, record.sha256, status)


def planned_results(plan: RegistrationPlan) -> list[RegistrationResult]:
    """Results of a dry run: what would be registered, nothing written."""
    return [
        RegistrationResult(region.region, region.group, None, None, region.sha256, PLANNED)
        for region in plan.regions
    ]


def preview_plan(plan: RegistrationPlan, inventory: Inventory) -> list[RegistrationResult]:
    """What executing ``plan`` would do, asking ``inventory`` and writing nothing: per region
    ``unchanged`` (with the version found) or ``would-create``. The backend's preflight runs
    first (SageMaker: credentials, each region's bucket), so a dry run finds what a run would."""
    inventory.prepare(plan)
    results = []
    for region in plan.regions:
        found = inventory.find_version(region.region, region.group, region.identity)
        if found is not None:
            results.append(RegistrationResult.from_record(found, UNCHANGED))
        else:
            results.append(
                RegistrationResult(
                    region.region, region.group, None, None, region.sha256, WOULD_CREATE
                )
            )
    return results


def _register_region(
    inventory: Inventory,
    region: RegionPlan,
    artifact: Path,
    payload: Path | None,
    progress: Progress | None,
) -> RegistrationResult:
    existing = inventory.find_version(region.region, region.group, region.identity)
    if existing is not None:
        return RegistrationResult.from_record(existing, UNCHANGED)
    inventory.ensure_group(region)
    outcome = inventory.create_version(region, artifact, payload, progress)
    return RegistrationResult.from_record(outcome.record, CREATED if outcome.created else UNCHANGED)


def _failure(region: RegionPlan, exc: BaseException) -> RegistrationResult:
    reason = str(exc) if isinstance(exc, MimsregError) else f"{type(exc).__name__}: {exc}"
    return RegistrationResult(
        region.region, region.group, None, None, region.sha256, FAILED, reason
    )


def execute_plan(
    plan: RegistrationPlan,
    inventory: Inventory,
    artifact: Path,
    *,
    payload: Path | None = None,
    max_workers: int | None = None,
    progress: Progress | None = None,
    on_result: Callable[[RegistrationResult], None] | None = None,
) -> list[RegistrationResult]:
    """Register every region of ``plan``; results come back in the plan's region order.

    Regions run on a thread pool (``max_workers`` defaults to one thread per region); the
    inventory is responsible for per-region clients. ``progress`` receives byte counts from
    artifact copies, from whichever thread does them.
    """
    regions = list(plan.regions)
    inventory.prepare(plan)  # bad input surfaces here, before any region writes anything
    lock = threading.Lock()

    def locked_progress(count: int) -> None:
        if progress is not None:
            with lock:
                progress(count)

    def run(region: RegionPlan) -> RegistrationResult:
        try:
            result = _register_region(
                inventory, region, artifact, payload, locked_progress if progress else None
            )
        except Exception as exc:  # one region's failure must not stop the others
            result = _failure(region, exc)
        if on_result is not None:
            with lock:
                on_result(result)
        return result

    if len(regions) <= 1 or max_workers == 1:
        return [run(region) for region in regions]
    workers = max_workers or len(regions)
    with concurrent.futures.ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix="mimsreg-region"
    ) as pool:
        return list(pool.map(run, regions))
