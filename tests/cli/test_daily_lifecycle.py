"""Issue 19 items 1 and 4 on the commands of a version's life (items 2 and 3): tag, describe,
delete, diff, approve --pending/--all-regions and list's filters take the shared --region
(repeated, comma-separated, codes) and --output table|json|yaml; register shows the release in
every format. On the local inventory, and on SageMaker (moto) with MIMSREG_REGION naming two."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLE_CONFIG, SEED_EXAMPLE, TEST_BUCKET
from tests.support.cli import invoke
from tests.support.helpers import write_model_archive

GROUP = "BuyerSellerMessaging-FraudDetection"
US, EU, FE = "us-east-1", "eu-west-1", "us-west-2"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def ok(*args: object, env: dict[str, str | None] | None = None) -> str:
    result = invoke(*args, env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def as_yaml(*args: object) -> Any:
    return yaml.safe_load(ok(*args, "--output", "yaml"))


def models(tmp_path: Path, *names: str) -> list[Path]:
    return [write_model_archive(tmp_path / name / "model.tar.gz", name.encode()) for name in names]


def test_register_shows_the_release_in_every_output(tmp_path: Path) -> None:
    [a] = models(tmp_path, "a")
    rows = as_yaml("register", a, "--config", EXAMPLE_CONFIG, "--region", "NA,EU")
    assert [row["region"] for row in rows] == [US, EU]
    release = rows[0]["release"]
    assert re.fullmatch(r"[0-9a-f]{12}", release)
    assert rows[1]["release"] == release
    table = ok("register", a, "--config", EXAMPLE_CONFIG, "--region", "NA")
    assert table.splitlines()[0].split()[:5] == ["REGION", "GROUP", "VERSION", "RELEASE", "STATUS"]
    assert release in table.splitlines()[1]
    planned = json.loads(
        ok("register", a, "--config", EXAMPLE_CONFIG, "--region", "EU", "--dry-run", "--json")
    )
    assert [r["status"] for r in planned["regions"]] == ["unchanged"]


def test_drift_warning_after_a_real_run_only(tmp_path: Path) -> None:
    """A dry run writes nothing and warns of nothing; the real run warns of the drift."""
    a, b = models(tmp_path, "a", "b")
    ok("register", a, "--config", EXAMPLE_CONFIG, "--region", "EU")
    args = ("register", b, "--config", EXAMPLE_CONFIG, "--region", "NA,EU")
    dry = invoke(*args, "--dry-run", "--output", "yaml")
    assert dry.exit_code == 0, dry.output
    assert "different version numbers" not in dry.stderr
    real = invoke(*args, "--output", "yaml")
    assert real.exit_code == 0, real.output
    assert [(r["region"], r["version"]) for r in yaml.safe_load(real.stdout)] == [(US, 1), (EU, 2)]
    assert "different version numbers across regions" in real.stderr


def test_list_filters_with_regions_and_outputs(tmp_path: Path) -> None:
    a, b = models(tmp_path, "a", "b")
    ok("register", a, "--config", EXAMPLE_CONFIG, "--region", "NA,EU,FE")
    ok("register", b, "--config", EXAMPLE_CONFIG, "--region", "NA,EU")
    ok("approve", f"{GROUP}/2", "--region", "EU")
    rows = as_yaml("list", "--region", "NA", "--region", "EU,FE", "--status", "pending")
    assert [(r["region"], r["version"]) for r in rows] == [(US, 1), (US, 2), (EU, 1), (FE, 1)]
    assert all(ISO_UTC.match(r["created_at"]) for r in rows)
    assert all(r["release"] for r in rows)
    approved = json.loads(ok("list", "--region", "EU,FE", "--status", "approved", "--json"))
    assert [(r["region"], r["version"]) for r in approved] == [(EU, 2)]
    table = ok("list", "--region", "FE", "--since", "1h")
    assert table.splitlines()[0].split() == [
        "GROUP", "VERSION", "REGION", "RELEASE", "APPROVAL_STATUS", "SHA256", "CREATED_AT",
    ]  # fmt: skip
    assert ok("list", "--region", "FE", "--status", "rejected").strip() == (
        "no versions in us-west-2 matching the filters in the local inventory"
    )


def test_lifecycle_commands_take_regions_and_outputs(tmp_path: Path) -> None:
    """tag, describe, diff, approve --pending and delete: the version found among the regions
    given (repeated or comma-separated, codes too), printed as a table, JSON or YAML."""
    a, b = models(tmp_path, "a", "b")
    ok("register", a, "--config", EXAMPLE_CONFIG, "--region", "NA,EU")
    ok("register", b, "--config", EXAMPLE_CONFIG, "--region", "EU")
    ref = f"{GROUP}/2"  # only in eu-west-1: found among the regions given

    tagged = as_yaml("tag", ref, "team=fraud", "--region", "NA", "--region", "EU")
    assert (tagged["region"], tagged["tags"]) == (EU, {"team": "fraud"})
    assert ok("tag", ref, "stage=prod", "--region", "NA,EU").strip() == (
        f"{ref} in {EU}: tags stage=prod, team=fraud"
    )
    described = as_yaml("describe", ref, "retrained", "--region", "NA,EU")
    assert (described["description"], described["region"]) == ("retrained", EU)
    assert ISO_UTC.match(described["created_at"])

    ambiguous = invoke("tag", f"{GROUP}/1", "x=y", "--region", "NA,EU")
    assert ambiguous.exit_code == 2
    assert "several regions (eu-west-1, us-east-1)" in ambiguous.stderr
    absent = invoke("describe", ref, "text", "--region", "NA,FE")
    assert absent.exit_code == 2
    assert f"{ref} is not in the local inventory in us-east-1, us-west-2" in absent.stderr

    difference = as_yaml("diff", f"{GROUP}/1", f"{GROUP}/latest", "--region", "EU")
    assert (difference["a"]["version"], difference["b"]["version"]) == (1, 2)
    assert not difference["digest"]["same"]
    assert json.loads(ok("diff", f"{GROUP}/1", ref, "--region", "EU", "--output", "json")) == (
        json.loads(ok("diff", f"{GROUP}/1", ref, "--region", "EU", "--json"))
    )
    assert ok("diff", ref, ref, "--region", "NA,EU").splitlines()[-1] == (
        "no differences (the same release)"
    )

    approved = as_yaml("approve", ref, "--region", "NA,EU")
    assert (approved["approval_status"], approved["changed"]) == ("Approved", True)
    pending = as_yaml("approve", ref, "--pending", "--region", "EU")
    assert (pending["approval_status"], pending["previous_status"]) == (
        "PendingManualApproval",
        "Approved",
    )
    again = as_yaml("approve", ref, "--pending", "--region", "EU")
    assert (again["changed"], again["recorded"]) == (False, False)
    everywhere = as_yaml("approve", f"{GROUP}/1", "--region", "NA", "--all-regions")
    assert [(d["region"], d["approval_status"]) for d in everywhere] == [
        (US, "Approved"),
        (EU, "Approved"),
    ]

    declined = invoke("delete", f"{GROUP}/1", "--region", "NA,EU")
    assert declined.exit_code == 1
    assert "not confirmed: nothing was deleted" in declined.stderr
    assert "interrupted" not in declined.stderr
    deleted = as_yaml("delete", f"{GROUP}/1", "--region", "NA", "--region", "EU", "--yes")
    assert [(t["region"], t["version"]) for t in deleted] == [(US, 1), (EU, 1)]
    assert all(ISO_UTC.match(t["deleted_at"]) for t in deleted)
    rows = json.loads(ok("list", "--json"))
    assert [(r["region"], r["version"]) for r in rows] == [(EU, 2)]


def test_new_commands_take_output_and_region_options() -> None:
    """Each command of a version's life has the shared --region and --output options."""
    for command in ("tag", "describe", "delete", "diff", "approve", "list", "show"):
        text = " ".join(ok(command, "--help").split())
        assert "--output [table|json|yaml]" in text, command
        assert "Repeatable or comma-separated" in text, command


@pytest.mark.usefixtures("aws")
def test_sagemaker_default_regions_for_the_new_commands(tmp_path: Path) -> None:
    """MIMSREG_REGION naming two regions: tag and diff find the one holding the version."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({**SEED_EXAMPLE, "bucket": TEST_BUCKET}))
    a, b = models(tmp_path, "a", "b")
    base = ("--config", config, "--inventory", "sagemaker")
    ok("register", a, *base, "--region", "NA,EU")
    ok("register", b, *base, "--region", "EU")
    env: dict[str, str | None] = {"MIMSREG_REGION": "NA,EU"}
    ref = f"{GROUP}/2"
    tagged = yaml.safe_load(
        ok("tag", ref, "team=fraud", "--inventory", "sagemaker", "--output", "yaml", env=env)
    )
    assert (tagged["region"], tagged["tags"]) == (EU, {"team": "fraud"})
    difference = json.loads(
        ok("diff", f"{GROUP}/1", ref, "--inventory", "sagemaker", "--region", "EU", "--json")
    )
    assert (difference["a"]["version"], difference["b"]["version"]) == (1, 2)
    ambiguous = invoke("describe", f"{GROUP}/1", "x", "--inventory", "sagemaker", env=env)
    assert ambiguous.exit_code == 2
    assert "several regions (eu-west-1, us-east-1)" in ambiguous.stderr
