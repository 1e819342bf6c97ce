"""The executor: per-region results, isolation of failures, parallel regions."""

from __future__ import annotations

import threading
from pathlib import Path

from mimsreg.engine.execute import (
    CREATED,
    FAILED,
    RegistrationResult,
    execute_plan,
    planned_results,
)
from mimsreg.engine.inventory.base import CreateOutcome, Progress
from mimsreg.engine.inventory.local import LocalInventory
from mimsreg.engine.plan import RegionPlan
from mimsreg.errors import InventoryError
from tests.support.helpers import make_plan, write_model_archive


class BrokenRegionInventory(LocalInventory):
    """A real local inventory whose storage fails in the named regions (a fake, not a mock)."""

    def __init__(self, database: Path, broken: set[str]) -> None:
        super().__init__(database)
        self.broken = broken
        # Every region must reach create_version before any passes: proof they run at once.
        self.barrier: threading.Barrier | None = threading.Barrier(3, timeout=10)

    def create_version(
        self,
        plan: RegionPlan,
        artifact: Path,
        payload: Path | None = None,
        progress: Progress | None = None,
    ) -> CreateOutcome:
        if self.barrier is not None:
            self.barrier.wait()
        if plan.region in self.broken:
            raise InventoryError(f"bucket for {plan.region} does not exist")
        return super().create_version(plan, artifact, payload, progress)


def test_a_failing_region_does_not_stop_the_others(tmp_path: Path) -> None:
    artifact = write_model_archive(tmp_path / "model.tar.gz")
    plan = make_plan(artifact, ["us-east-1", "eu-west-1", "ap-southeast-2"])
    with BrokenRegionInventory(tmp_path / "i.db", {"eu-west-1"}) as inventory:
        results = execute_plan(plan, inventory, artifact)
        assert [(r.region, r.status) for r in results] == [
            ("us-east-1", CREATED),
            ("eu-west-1", FAILED),
            ("ap-southeast-2", CREATED),
        ]
        assert results[1].error == "bucket for eu-west-1 does not exist"
        assert not results[1].ok
        assert results[1].to_dict()["error"] == results[1].error
        # fixed: the re-run creates only the missing version
        inventory.broken.clear()
        inventory.barrier = None
        rerun = execute_plan(plan, inventory, artifact)
    assert [r.status for r in rerun] == ["unchanged", "created", "unchanged"]


def test_unexpected_exceptions_are_reported_with_their_type(tmp_path: Path) -> None:
    class Exploding(LocalInventory):
        def ensure_group(self, plan: RegionPlan) -> None:
            raise RuntimeError("boom")

    artifact = write_model_archive(tmp_path / "model.tar.gz")
    with Exploding(tmp_path / "i.db") as inventory:
        [result] = execute_plan(make_plan(artifact), inventory, artifact)
    assert (result.status, result.error) == (FAILED, "RuntimeError: boom")


def test_progress_and_result_callbacks(tmp_path: Path) -> None:
    artifact = write_model_archive(tmp_path / "model.tar.gz", b"x" * 100_000)
    plan = make_plan(artifact, ["us-east-1", "eu-west-1"])
    seen: list[int] = []
    finished: list[RegistrationResult] = []
    with LocalInventory(tmp_path / "i.db") as inventory:
        execute_plan(
            plan,
            inventory,
            artifact,
            progress=seen.append,
            on_result=finished.append,
            max_workers=1,
        )
    assert sum(seen) == 2 * artifact.stat().st_size  # copied once, skipped once: both counted
    assert sorted(r.region for r in finished) == ["eu-west-1", "us-east-1"]


def test_dry_run_results_are_planned(tmp_path: Path) -> None:
    artifact = write_model_archive(tmp_path / "model.tar.gz")
    results = planned_results(make_plan(artifact, ["NA", "EU"]))
    assert [(r.region, r.status, r.version) for r in results] == [
        ("us-east-1", "planned", None),
        ("eu-west-1", "planned", None),
    ]
