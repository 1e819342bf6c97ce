"""A small inventory for the web UI's tests and screenshot: two groups, three regions, one
version whose artifact differs between regions, and an objective holding a ``<script>``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mimsreg
from mimsreg.engine.inventory.base import Inventory
from tests.conftest import SEED_EXAMPLE
from tests.support.helpers import write_model_archive

HOSTILE_OBJECTIVE = "<script>alert('xss')</script>Churn & <b>retention</b>"
FRAUD = "BuyerSellerMessaging-FraudDetection"
CHURN = "Retention-Churn"


def seed_ui_inventory(inventory: Inventory, work: Path) -> None:
    """Register the demo versions into ``inventory`` (artifacts built under ``work``)."""
    fraud: dict[str, Any] = dict(SEED_EXAMPLE)
    first = write_model_archive(work / "v1" / "model.tar.gz", b"weights-1")
    second = write_model_archive(work / "v2" / "model.tar.gz", b"weights-2")
    other = write_model_archive(work / "v1-eu" / "model.tar.gz", b"weights-1-eu")
    mimsreg.register(first, fraud, regions=["us-east-1", "us-west-2"], inventory=inventory)
    # Version 1 in eu-west-1 holds a different artifact than version 1 elsewhere.
    mimsreg.register(other, fraud, regions=["eu-west-1"], inventory=inventory)
    mimsreg.register(second, fraud, regions=["us-east-1"], inventory=inventory)
    inventory.set_approval("us-east-1", FRAUD, 1, "Approved", "alice", "passed review")
    churn = {
        **SEED_EXAMPLE,
        "model_owner": "growth-team",
        "model_registration_domain": "Retention",
        "model_registration_objective": HOSTILE_OBJECTIVE,
        "model_package_group_name": CHURN,
        "model_package_description": "Predicts churn <i>risk</i>",
        "source_model_inference_content_types": ["application/json"],
    }
    churn_model = write_model_archive(work / "churn" / "model.tar.gz", b"churn")
    mimsreg.register(churn_model, churn, regions=["eu-west-1"], inventory=inventory)
    inventory.set_approval("eu-west-1", CHURN, 1, "Rejected", "bob", "<img src=x onerror=alert(1)>")


DRIFT = "Payments-Scoring"
DRIFT_TAGS = {"stage": "canary", "team": "payments"}
DRIFT_DESCRIPTION = "Retrained on Q4 data & <new> features"


def seed_release_drift(
    inventory: Inventory, work: Path, extra: dict[str, Any] | None = None
) -> None:
    """A group whose one release has two numbers: an earlier model registered in eu-west-1 only
    takes number 1 there, so the tagged, described model registered next in us-east-1 and
    eu-west-1 is 1 in us-east-1 and 2 in eu-west-1. ``extra``: more config (a bucket)."""
    config: dict[str, Any] = {
        **SEED_EXAMPLE,
        "model_package_group_name": DRIFT,
        "model_package_description": DRIFT_DESCRIPTION,
        "tags": DRIFT_TAGS,
        **(extra or {}),
    }
    early = write_model_archive(work / "drift-early" / "model.tar.gz", b"eu-only")
    model = write_model_archive(work / "drift" / "model.tar.gz", b"scoring")
    earlier = {**config, "tags": {}, "model_package_description": "an earlier model"}
    mimsreg.register(early, earlier, regions=["eu-west-1"], inventory=inventory)
    mimsreg.register(model, config, regions=["us-east-1", "eu-west-1"], inventory=inventory)
