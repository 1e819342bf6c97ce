"""Hostile input through the whole CLI: a smoke run of reliability/fuzz.py (the full run is
`make reliability-fuzz`), and the bugs that fuzzing found, each pinned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reliability.fuzz import fuzz_archives, fuzz_configs, hostile

from mimsreg import ConfigError, ModelRegistrationConfig
from tests.conftest import SEED_EXAMPLE
from tests.support.cli import invoke
from tests.support.fuzzing import STRUCTURAL_ATTACKS, World, register_in_process, write_config
from tests.support.helpers import write_model_archive


def test_generated_configs_are_registered_or_refused_cleanly(tmp_path: Path) -> None:
    world = World(tmp_path / "home")
    (tmp_path / "work").mkdir()
    tally = fuzz_configs(world, tmp_path / "work", 60, seed=1, log=print)
    assert tally.examples == 60
    assert tally.failures == []
    assert tally.held
    assert set(tally.exit_codes) <= {0, 2}
    assert tally.exit_codes.get(2, 0) > 0  # the generator does produce bad configs


def test_mutated_archives_are_registered_or_refused_cleanly(tmp_path: Path) -> None:
    world = World(tmp_path / "home")
    (tmp_path / "work").mkdir()
    tally = fuzz_archives(world, tmp_path / "work", 40, seed=1, log=print)
    assert tally.failures == []
    assert tally.held
    assert tally.exit_codes.get(2, 0) > 0


def test_the_hostile_corpus_is_refused_without_a_write(tmp_path: Path) -> None:
    world = World(tmp_path / "home")
    (tmp_path / "work").mkdir()
    tally = hostile(world, tmp_path / "work", processes=False)
    assert tally.failures == []
    assert tally.exit_codes == {2: tally.runs}
    assert tally.writes_after_error == 0


@pytest.mark.parametrize("attack", range(len(STRUCTURAL_ATTACKS)))
@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_each_structural_attack_is_refused_naming_the_file(
    tmp_path: Path, attack: int, suffix: str
) -> None:
    """Deep nesting (RecursionError), a long source_dir (OSError), alias bombs, BOMs, ..."""
    world = World(tmp_path / "home")
    model = write_model_archive(tmp_path / "model.tar.gz", b"m" * 100)
    config = write_config(tmp_path, suffix, STRUCTURAL_ATTACKS[attack], world, attack)
    outcome = register_in_process(world, model, config)
    assert outcome.problems == []
    assert outcome.exit_code in (0, 2)


def test_a_deeply_nested_config_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"tags": ' + "[" * 5000 + "]" * 5000 + "}")
    with pytest.raises(ConfigError, match="nested too deeply"):
        ModelRegistrationConfig.from_file(path)


def test_deeply_nested_values_are_a_config_error() -> None:
    value: object = 1
    for _ in range(5000):
        value = [value]
    with pytest.raises(ConfigError, match="nested too deeply"):
        ModelRegistrationConfig.from_mapping(
            {**SEED_EXAMPLE, "source_model_inference_output_variable_list": value}
        )


def test_a_source_dir_too_long_for_the_file_system_is_a_field_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        ModelRegistrationConfig.from_mapping({**SEED_EXAMPLE, "source_dir": "x" * 5000})
    [error] = caught.value.errors
    assert error.field == "source_dir"
    assert "cannot look for the inference entry point" in error.message


def test_a_json_config_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(SEED_EXAMPLE).encode())
    config = ModelRegistrationConfig.from_file(path)
    assert config.model_registration_objective == SEED_EXAMPLE["model_registration_objective"]


def test_a_refusal_from_the_cli_names_the_config_file_and_exits_2(tmp_path: Path) -> None:
    model = write_model_archive(tmp_path / "model.tar.gz", b"m" * 100)
    config = tmp_path / "deep.json"
    config.write_text('{"tags": ' + "[" * 5000 + "]" * 5000 + "}")
    result = invoke(
        *["register", str(model), "--config", str(config)],
        env={"MIMSREG_HOME": str(tmp_path / "home")},
    )
    assert result.exit_code == 2
    assert "deep.json" in result.stderr
    assert "nested too deeply" in result.stderr
    assert not (tmp_path / "home" / "inventory.db").exists()
