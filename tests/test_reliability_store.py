"""Smoke runs of the local store's reliability runs (the full runs: `make reliability-moves`,
`make reliability-concurrency`), and the local checks shown able to fail."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest
from reliability.approval_race import ApprovalRace, approval_race, judge
from reliability.crash import LocalTarget
from reliability.local_checks import check_local_inventory
from reliability.moves import WAYS, run

from tests.conftest import EXAMPLE_CONFIG
from tests.support.cli import invoke
from tests.support.helpers import write_model_archive


def test_moves_smoke(tmp_path: Path) -> None:
    """Moved, symlinked, reached by sqlite:/// URI: gc keeps every live file, removes the
    planted orphans, every version shows and every document holds."""
    outcome = run(tmp_path, iterations=3, seed=5, log=str)
    assert outcome.problems == []
    assert (outcome.iterations, outcome.registrations) == (3, 3)
    assert dict(outcome.moves) == dict.fromkeys(WAYS, 1)
    assert outcome.gc_removed == {"unreferenced-artifact": 3}
    assert (outcome.live_files_lost, outcome.shows_failed) == (0, 0)
    assert outcome.versions == 6  # two regions
    assert outcome.events == 6 + 1  # a registration each, and one approval


def test_three_local_approvals_at_once_keep_every_event(tmp_path: Path) -> None:
    outcome = approval_race(LocalTarget(tmp_path), 0, 3, random.Random(3))
    assert outcome.problems == []
    assert outcome.exit_codes == {0: 3}
    assert outcome.events == 3


def test_the_approval_judge_sees_lost_and_disordered_events() -> None:
    notes = {"a": False, "b": True}
    history = [
        {"status": "PendingManualApproval", "note": "registered", "at": "2026-01-01T00:00:00Z"},
        {"status": "Rejected", "note": "b", "at": "2026-01-01T00:00:02Z"},
        {"status": "Approved", "note": "x", "at": "2026-01-01T00:00:01Z"},
    ]
    outcome = ApprovalRace("local", 0, 2)
    judge({"approval_history": history, "approval_status": "Approved"}, notes, outcome)
    assert outcome.problems == [
        "1 approval event(s) lost: ['a']",
        "history out of order: ['2026-01-01T00:00:00Z', '2026-01-01T00:00:02Z', "
        "'2026-01-01T00:00:01Z']",
    ]


def test_local_checks_find_damage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each kind of damage the runs must notice is reported, naming the version."""
    home = tmp_path / "home"
    monkeypatch.setenv("MIMSREG_HOME", str(home))
    for content in (b"one", b"two"):
        model = write_model_archive(tmp_path / f"{content.decode()}.tar.gz", content)
        assert invoke("register", model, "--config", EXAMPLE_CONFIG).exit_code == 0
    assert invoke("approve", "BuyerSellerMessaging-FraudDetection/2").exit_code == 0
    clean = check_local_inventory(home)
    assert (clean.problems, clean.versions, clean.files, clean.events) == ([], 2, 3, 3)

    connection = sqlite3.connect(home / "inventory.db")
    with connection:
        connection.execute("UPDATE versions SET approval_status = 'Rejected' WHERE version = 2")
        record = json.loads(connection.execute("SELECT record FROM versions").fetchone()[0])
        record["variable_schema"] = {"input": {"variables": []}}
        connection.execute(
            "UPDATE versions SET record = ? WHERE version = 1", (json.dumps(record),)
        )
    connection.close()
    artifact = next((home / "artifacts").rglob("model.tar.gz"))
    artifact.write_bytes(b"changed")
    found = check_local_inventory(home)
    problems = "\n".join(found.problems)
    assert "us-east-1 BuyerSellerMessaging-FraudDetection/2: status 'Rejected' is not" in problems
    assert "BuyerSellerMessaging-FraudDetection/1: no variable schema" in problems
    assert "does not verify" in problems
