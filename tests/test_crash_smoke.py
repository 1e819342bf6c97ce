"""Smoke run of reliability/crash.py (the full run is `make reliability-crash`): a few SIGKILLed
registrations per backend, each re-run, and every invariant checked afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability.crash import (
    MIB,
    Iteration,
    LocalTarget,
    SageMakerTarget,
    Target,
    Verdict,
    crash_backend,
    summary,
)

ITERATIONS = 3


def smoke(target: Target) -> tuple[list[Iteration], Verdict]:
    done, verdict = crash_backend(
        target, ITERATIONS, seed=11, size=MIB, regions=("us-east-1", "eu-west-1"), log=str
    )
    assert [iteration.rerun_ok for iteration in done] == [True] * ITERATIONS
    # the third iteration kills itself at a marker, the timers may come after the end
    assert any(iteration.killed for iteration in done), done
    assert verdict.problems == []
    assert (verdict.duplicates, verdict.without_artifact, verdict.missing_versions) == (0, 0, 0)
    # two calibration registrations and one per iteration, in both regions
    assert verdict.versions == 2 * (2 + ITERATIONS)
    assert verdict.orphans_after == 0
    assert set(verdict.leftovers_after.values()) == {0}
    return done, verdict


def test_crash_smoke_local(tmp_path: Path) -> None:
    """SIGKILLed local registrations re-run cleanly; SQLite stays sound; gc leaves nothing."""
    target = LocalTarget(tmp_path)
    done, verdict = smoke(target)
    assert verdict.documents == "10 records and schemas, 10 approval events"
    assert list((target.home / "artifacts").rglob(".incoming-*")) == []
    runs, invariants, held = summary({"local": (done, verdict)}, regions=2)
    killed = sum(iteration.killed for iteration in done)
    assert runs == f"local: {killed} SIGKILLs landed of 3, 3 re-runs ok, 10 versions checked"
    assert invariants.startswith("2 regions; 0 duplicate versions")
    assert held


@pytest.mark.usefixtures("aws")
def test_crash_smoke_sagemaker(tmp_path: Path, moto_server: str) -> None:
    """The same against SageMaker and S3 (moto): no duplicate, every artifact verifies."""
    smoke(SageMakerTarget(tmp_path, moto_server))
