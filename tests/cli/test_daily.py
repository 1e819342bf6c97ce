"""Everyday use on the local inventory (issue 19): one --region everywhere, output people read,
errors that name what is wrong, Ctrl-C, dry runs that ask the inventory."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mimsreg.engine.inventory.local import LocalInventory, default_home
from tests.conftest import EXAMPLE_CONFIG, REPO_ROOT
from tests.support.cli import invoke
from tests.support.helpers import stored_files, write_model_archive

GROUP = "BuyerSellerMessaging-FraudDetection"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
LOCAL_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return write_model_archive(tmp_path / "build" / "model.tar.gz")


def ok(*args: object) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def registered(model: Path, regions: str = "NA,EU,FE") -> None:
    ok("register", model, "--config", EXAMPLE_CONFIG, "--region", regions)


def listed_regions(*args: object) -> list[str]:
    return [row["region"] for row in json.loads(ok("list", "--json", *args))]


def test_list_region_repeated_and_comma_separated(model: Path) -> None:
    """`list --region NA --region EU` lists both (it used to keep only EU), as does NA,EU."""
    registered(model)
    assert listed_regions("--region", "NA", "--region", "EU") == ["us-east-1", "eu-west-1"]
    assert listed_regions("--region", "NA,EU") == ["us-east-1", "eu-west-1"]
    assert listed_regions("--region", "eu-west-1,NA,EU") == ["eu-west-1", "us-east-1"]
    assert sorted(listed_regions()) == ["eu-west-1", "us-east-1", "us-west-2"]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("us-eats-1", "us-east-1"), ("euwest1", "eu-west-1"), ("US-EAST-1", "us-east-1")],
)
def test_region_typo_says_did_you_mean(typed: str, meant: str) -> None:
    """A mistyped region is refused (exit 2) with the closest region, on every command."""
    for args in (("list",), ("show", f"{GROUP}/1"), ("gc", "--dry-run")):
        result = invoke(*args, "--region", f"NA,{typed}")
        assert result.exit_code == 2, result.output
        assert f"did you mean {meant!r}?" in result.stderr
        assert result.stderr.startswith("error: --region: ")


def test_show_and_approve_look_in_the_regions_given(model: Path) -> None:
    """Several regions: the one holding the version is used; in two, one must be chosen."""
    registered(model, "NA,EU")
    ambiguous = invoke("show", f"{GROUP}/1", "--region", "NA", "--region", "EU")
    assert ambiguous.exit_code == 2
    assert "several regions (eu-west-1, us-east-1)" in ambiguous.stderr
    missing = invoke("show", f"{GROUP}/1", "--region", "FE,ap-southeast-2")
    assert missing.exit_code == 2
    assert "not in the local inventory in us-west-2, ap-southeast-2" in missing.stderr
    approved = json.loads(ok("approve", f"{GROUP}/1", "--region", "EU,FE", "--json"))
    assert (approved["region"], approved["approval_status"]) == ("eu-west-1", "Approved")


def test_empty_results_say_so() -> None:
    """An empty list or gc says so in a table and is [] in JSON and YAML."""
    assert ok("list").strip() == "no versions in the local inventory"
    assert ok("list", "--region", "EU", "--group", "G").strip() == (
        "no versions of group G in eu-west-1 in the local inventory"
    )
    assert json.loads(ok("list", "--json")) == []
    assert yaml.safe_load(ok("list", "--output", "yaml")) == []
    assert ok("gc", "--dry-run").startswith("nothing to remove")
    assert json.loads(ok("gc", "--dry-run", "--output", "json")) == []


def test_one_timestamp_format_per_output(model: Path) -> None:
    """JSON and YAML: ISO-8601 UTC to the second; tables: local time to the second."""
    registered(model, "EU")
    ok("approve", f"{GROUP}/1", "--note", "fine")
    [row] = json.loads(ok("list", "--json"))
    assert ISO_UTC.match(row["created_at"]), row["created_at"]
    shown = yaml.safe_load(ok("show", f"{GROUP}/1", "--output", "yaml"))
    assert ISO_UTC.match(shown["created_at"])
    assert [ISO_UTC.match(event["at"]) is not None for event in shown["approval_history"]] == [
        True,
        True,
    ]
    assert json.loads(ok("show", f"{GROUP}/1", "--output", "json")) == json.loads(
        ok("show", f"{GROUP}/1", "--json")
    )
    table = ok("list")
    assert LOCAL_TIME.search(table.splitlines()[1])
    assert "T" not in table.splitlines()[1].split()[-1]
    text = ok("show", f"{GROUP}/1")
    assert len(LOCAL_TIME.findall(text)) == 3  # created, two events
    assert "Z" not in " ".join(LOCAL_TIME.findall(text))


def test_json_and_another_output_conflict() -> None:
    result = invoke("list", "--json", "--output", "yaml")
    assert result.exit_code == 2
    assert result.stderr == "error: --json and --output yaml: give one of them\n"


def test_show_labels_the_framework_version(model: Path) -> None:
    registered(model, "EU")
    text = ok("show", f"{GROUP}/1")
    assert re.search(r"^  framework version +1\.7-1$", text, re.MULTILINE), text
    assert not re.search(r"^  version ", text, re.MULTILINE)


def test_click_usage_errors_in_the_one_style() -> None:
    """A bad option, a missing argument, a bad choice: `error: ...`, a usage hint, exit 2."""
    for args, said in [
        (
            ("list", "--regoin", "EU"),
            # list's --domain filter is close enough for click to offer it too
            "No such option '--regoin'. (Did you mean one of: '--domain', '--region'?)",
        ),
        (("show",), "Missing argument 'GROUP/VERSION'"),
        (("list", "--output", "xml"), "Invalid value for '--output'"),
        (("frobnicate",), "No such command 'frobnicate'"),
    ]:
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        first, *rest = result.stderr.splitlines()
        assert first.startswith("error: "), result.stderr
        assert said in first, result.stderr
        assert "Error:" not in result.stderr
        assert "Usage:" not in result.stderr
        assert all(line.startswith("usage: ") for line in rest), rest
        assert result.stdout == ""


def test_mimsreg_inventory_is_the_default(model: Path, tmp_path: Path) -> None:
    database = tmp_path / "team" / "inventory.db"
    env = {"MIMSREG_INVENTORY": f"sqlite://{database}"}
    result = invoke("register", model, "--config", EXAMPLE_CONFIG, "--json", env=env)
    assert result.exit_code == 0, result.output
    assert database.is_file()
    assert json.loads(invoke("list", "--json", env=env).stdout)[0]["version"] == 1
    assert json.loads(ok("list", "--json")) == []  # the default home holds nothing


def test_dry_run_asks_the_inventory(model: Path) -> None:
    """`register --dry-run` says would-create, then unchanged after a run; it never creates the
    local database to find out."""
    args = ("register", model, "--config", EXAMPLE_CONFIG, "--region", "NA,EU", "--dry-run")
    before = json.loads(ok(*args, "--json"))
    assert [(r["region"], r["status"], r["version"]) for r in before["regions"]] == [
        ("us-east-1", "would-create", None),
        ("eu-west-1", "would-create", None),
    ]
    assert stored_files() == []
    registered(model, "EU")
    after = json.loads(ok(*args, "--json"))
    assert [(r["status"], r["version"]) for r in after["regions"]] == [
        ("would-create", None),
        ("unchanged", 1),
    ]
    text = ok(*args)
    assert "status     would-create" in text
    assert "status     unchanged (version 1)" in text
    assert len(LocalInventory().list_versions()) == 1


def test_config_key_typo_says_did_you_mean(tmp_path: Path) -> None:
    config = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    config["regoin"] = config.pop("region", "EU")
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(config))
    result = invoke("validate", path)
    assert result.exit_code == 2
    assert "regoin: is not a known field: did you mean 'region'?" in result.stderr


def test_home_that_is_a_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MIMSREG_HOME a file, or under a file: one line naming it, exit 2, no traceback."""
    home = tmp_path / "home-file"
    home.write_text("not a folder")
    monkeypatch.setenv("MIMSREG_HOME", str(home))
    result = invoke("list")
    assert result.exit_code == 2
    assert result.stderr == f"error: MIMSREG_HOME {str(home)!r} is a file, not a folder\n"
    monkeypatch.setenv("MIMSREG_HOME", str(home / "below"))
    below = invoke("list")
    assert below.exit_code == 2
    assert below.stderr == (
        f"error: MIMSREG_HOME {str(home / 'below')!r} cannot be created: {str(home)!r} is a file\n"
    )
    sqlite = invoke("list", "--inventory", f"sqlite://{home}/inventory.db")
    assert sqlite.exit_code == 2
    assert "is a file, not a folder" in sqlite.stderr
    assert "Traceback" not in sqlite.output


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from mimsreg.cli import main; main()", *args]


def test_unwritable_homes_are_named() -> None:
    """register with a home another user owns (0755): named, exit 2, nothing written; a read
    of it (list) finds nothing registered."""
    import os
    import shutil
    import tempfile

    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv to run the CLI as another user")
    # pytest's tmp_path sits in a 0700 folder of root's: nobody could not even reach it.
    locked = Path(tempfile.mkdtemp(prefix="mimsreg-locked-", dir="/tmp"))
    try:
        locked.chmod(0o755)
        model = write_model_archive(locked / "model.tar.gz")
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        register = [*nobody, *cli_command("register", str(model), "--config", str(EXAMPLE_CONFIG))]
        (locked / "db").mkdir(mode=0o755)
        for home, reason in [
            ("home", f"cannot be created: its parent {str(locked)!r} is not writable by this user"),
            ("db", "is not writable by this user"),
        ]:
            # Not measured by coverage: user nobody cannot write root's coverage data file, and
            # coverage's complaint at exit would land in the stderr this test pins.
            unmeasured = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("COVERAGE_", "COV_CORE_"))
            }
            env = {**unmeasured, "MIMSREG_HOME": str(locked / home)}
            child = subprocess.run(register, env=env, capture_output=True, text=True, timeout=120)
            assert child.returncode == 2, child.stderr
            assert child.stderr == f"error: MIMSREG_HOME {str(locked / home)!r} {reason}\n"
        assert sorted(path.name for path in locked.rglob("*")) == ["db", "model.tar.gz"]
    finally:
        shutil.rmtree(locked)


def test_read_only_filesystem_is_named(model: Path, tmp_path: Path) -> None:
    """register with a home on a read-only mount (bubblewrap's --ro-bind): named, exit 2."""
    import os
    import shutil

    if shutil.which("bwrap") is None:
        pytest.skip("needs bubblewrap")
    home = tmp_path / "ro-home"
    home.mkdir()
    command = [
        "bwrap", "--dev-bind", "/", "/", "--ro-bind", str(home), str(home),
        *cli_command("register", str(model), "--config", str(EXAMPLE_CONFIG)),
    ]  # fmt: skip
    env = {**os.environ, "MIMSREG_HOME": str(home)}
    child = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    if "bwrap:" in child.stderr:
        pytest.skip(f"bubblewrap cannot run here: {child.stderr.strip()}")
    assert child.returncode == 2, child.stderr
    assert child.stderr == f"error: MIMSREG_HOME {str(home)!r} is on a read-only filesystem\n"
    assert list(home.iterdir()) == []


def test_ctrl_c_prints_what_each_region_completed(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while eu-west-1 copies: us-east-1's version is reported, exit 130."""
    original = LocalInventory.create_version

    def interrupted(self: LocalInventory, plan: object, *args: object, **kwargs: object) -> object:
        if getattr(plan, "region", None) == "eu-west-1":
            raise KeyboardInterrupt
        return original(self, plan, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalInventory, "create_version", interrupted)
    result = invoke("register", model, "--config", EXAMPLE_CONFIG, "--region", "NA,EU")
    assert result.exit_code == 130, result.output
    assert result.stderr.splitlines() == [
        "error: interrupted; what completed:",
        f"  us-east-1: created {GROUP}/1",
        "  eu-west-1: not finished (a re-run completes it)",
    ]
    assert "Aborted" not in result.output
    monkeypatch.setattr(LocalInventory, "create_version", original)
    again = json.loads(ok("register", model, "--config", EXAMPLE_CONFIG, "--region", "NA,EU",
                          "--json"))  # fmt: skip
    assert [r["status"] for r in again] == ["unchanged", "created"]


def test_completion_offers_regions() -> None:
    """Shell completion (documented in README.md) completes --region with codes and names."""
    from click.testing import CliRunner

    from mimsreg.cli import cli

    words = {"COMP_WORDS": "mimsreg list --region eu-w", "COMP_CWORD": "3"}
    result = CliRunner().invoke(
        cli, [], prog_name="mimsreg", env={"_MIMSREG_COMPLETE": "bash_complete", **words}
    )
    assert result.exit_code == 0, result.output
    offered = [line.split(",", 1)[1] for line in result.stdout.splitlines()]
    assert offered == ["eu-west-1", "eu-west-2", "eu-west-3"]
    readme = (REPO_ROOT / "README.md").read_text()
    assert "_MIMSREG_COMPLETE=bash_source mimsreg" in readme


def test_default_home_untouched_by_reads_of_others(tmp_path: Path) -> None:
    """Reading a sqlite:/// inventory leaves the default home alone."""
    invoke("list", "--inventory", f"sqlite://{tmp_path}/x/inventory.db")
    assert not (default_home() / "inventory.db").exists()
