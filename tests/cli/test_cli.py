"""The command line: exit codes, messages, and a --help for every command."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from mimsreg import __version__
from mimsreg.cli import cli
from tests.conftest import EXAMPLE_CONFIG
from tests.support.cli import invoke


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(all_commands(command, (*prefix, name)))
    return found


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"mimsreg, version {__version__}"


@pytest.mark.parametrize("command", [(), *all_commands(cli)])
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    """Every command answers --help with a usage line and a description."""
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")
    command_obj = cli
    for name in command:
        assert isinstance(command_obj, click.Group)
        command_obj = command_obj.commands[name]
    assert command_obj.help, f"{command} has no help text"


def test_validate_example() -> None:
    result = invoke("validate", str(EXAMPLE_CONFIG))
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
    assert "BuyerSellerMessaging-FraudDetection" in result.stdout
    assert result.stderr == ""


def test_validate_json() -> None:
    result = invoke("validate", "--json", str(EXAMPLE_CONFIG))
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["resolved"]["framework_version"] == "1.7-1"
    assert data["warnings"] == []


def test_validate_prints_every_error_one_per_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "framework: keras\n"
        "inference_instance_type: m5.large\n"
        "source_model_inference_output_variable_list: {}\n"
        "source_model_inference_content_types: [text/plain]\n"
    )
    result = invoke("validate", str(bad))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: invalid configuration ({bad})"
    fields = [line.split(":", 1)[0] for line in lines[1:]]
    assert fields == [
        "framework",
        "inference_instance_type",
        "model_registration_objective",
        "source_model_inference_content_types",
        "source_model_inference_output_variable_list",
    ]
    assert "Traceback" not in result.output


def test_validate_warns_about_placeholders(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("model_registration_objective: FraudDetection\n")
    result = invoke("validate", str(path))
    assert result.exit_code == 0
    assert result.stderr.count("warning: model_owner is the placeholder 'team id'") == 1


def test_validate_missing_file(tmp_path: Path) -> None:
    result = invoke("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_schema_prints_seed_shape_in_order() -> None:
    result = invoke("schema", str(EXAMPLE_CONFIG))
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert [v["name"] for v in schema["input"]["variables"]] == [
        "account_age",
        "transaction_count",
        "country_code",
    ]
    assert schema["output"]["variables"] == [
        {"name": "fraud_score", "type": "NUMERIC"},
        {"name": "risk_category", "type": "TEXT"},
    ]


def test_config_schema_is_json_schema() -> None:
    result = invoke("config-schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "model_registration_objective" in schema["properties"]
