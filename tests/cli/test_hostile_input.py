"""Hostile input stays cheap at the command line: a YAML alias bomb, FIFOs and devices, values
that would flood the error output. Each command runs as a process of its own, measured."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from mimsreg.config import ModelRegistrationConfig
from mimsreg.errors import ConfigError
from tests.support.archives import good_tar_gz
from tests.support.cost import MIMSREG, Cost, measure
from tests.support.fuzzing import alias_bomb


def _run(tmp_path: Path, *args: object, timeout: float = 30) -> Cost:
    return measure([*MIMSREG, *(str(arg) for arg in args)], tmp_path, timeout=timeout)


def test_alias_bomb_exits_2_at_once_with_a_short_message(tmp_path: Path) -> None:
    """A 600-byte billion laughs into a field whose error quotes its value: exit 2, one short
    line, in under a second of CPU. Before: killed after 60 s, 922 MB written, 5.3 GB RSS."""
    bomb = alias_bomb(9).replace(
        "model_registration_objective:", "source_model_inference_input_variable_list:"
    )
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb)
    assert path.stat().st_size < 1000
    cost = _run(tmp_path, "validate", path)
    assert cost.exit_code == 2, str(cost)
    assert len(cost.output) < 4096, str(cost)
    assert b"line 2: YAML aliases (*a0) are not allowed in a configuration" in cost.output
    assert cost.cpu_seconds < 1.0, str(cost)
    assert cost.max_rss_mb < 100, str(cost)


def test_aliases_are_refused_anchors_alone_are_not(
    seed_kwargs: dict[str, Any], tmp_path: Path
) -> None:
    """An anchor without an alias is plain YAML; any alias, merge keys included, is refused."""
    lines = [f"{key}: {json.dumps(value)}" for key, value in seed_kwargs.items()]
    plain = tmp_path / "plain.yaml"
    plain.write_text("\n".join(lines).replace("model_owner: ", "model_owner: &owner ", 1))
    assert ModelRegistrationConfig.from_file(plain).model_owner == seed_kwargs["model_owner"]
    merged = tmp_path / "merged.yaml"
    merged.write_text("base: &base {a: 1}\nother:\n  <<: *base\n")
    with pytest.raises(ConfigError, match=r"line 3: YAML aliases \(\*base\) are not allowed"):
        ModelRegistrationConfig.from_file(merged)


def test_huge_values_give_short_error_lines(seed_kwargs: dict[str, Any], tmp_path: Path) -> None:
    """A 1 MB variable name and a 1 MB unknown key: every field is named, every line is a
    few hundred characters, the whole output under 4 kB."""
    seed_kwargs["source_model_inference_input_variable_list"] = {"x" * 10**6 + "!": "NUMERIC"}
    seed_kwargs["k" * 10**6] = 1
    path = tmp_path / "big.json"
    path.write_text(json.dumps(seed_kwargs))
    cost = _run(tmp_path, "validate", path)
    assert cost.exit_code == 2, str(cost)
    assert len(cost.output) < 4096, str(cost)
    lines = cost.output.decode().splitlines()
    assert max(len(line) for line in lines) < 700
    assert any(line.startswith("source_model_inference_input_variable_list:") for line in lines)
    assert any("characters left out" in line and "not a known field" in line for line in lines)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "model.tar.gz"
    os.mkfifo(path)
    return path


@pytest.fixture
def config(seed_kwargs: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(seed_kwargs))
    return path


def _refused(cost: Cost, path: object, kind: str) -> None:
    assert cost.exit_code == 2, str(cost)
    message = f"{str(path)!r} is {kind}, not a regular file or folder: refused without reading it"
    assert message.encode() in cost.output, str(cost)


def test_inspect_refuses_a_fifo_and_a_device(tmp_path: Path, fifo: Path) -> None:
    """`inspect` on a FIFO (nobody writes: reading it would wait forever) or /dev/zero (never
    ends): exit 2 at once. Before: both hung."""
    _refused(_run(tmp_path, "inspect", fifo), fifo, "a FIFO (named pipe)")
    _refused(_run(tmp_path, "inspect", "/dev/zero"), "/dev/zero", "a character device")


def test_a_folder_holding_a_fifo_is_refused(tmp_path: Path, config: Path) -> None:
    """A folder whose one entry is a FIFO: `inspect` and `check` name it. Before: both hung."""
    folder = tmp_path / "model"
    folder.mkdir()
    os.mkfifo(folder / "model.tar.gz")
    for args in (("inspect", folder), ("check", folder, "--config", config)):
        cost = _run(tmp_path, *args)
        assert cost.exit_code == 2, str(cost)
        assert b"holds only 'model.tar.gz', which is a FIFO (named pipe)" in cost.output


def test_check_refuses_a_fifo_model_and_payload(tmp_path: Path, fifo: Path, config: Path) -> None:
    """`check` with a FIFO as the model, or as its payload: exit 2 before any model code runs."""
    _refused(_run(tmp_path, "check", fifo, "--config", config), fifo, "a FIFO (named pipe)")
    model = tmp_path / "real.tar.gz"
    model.write_bytes(good_tar_gz())
    cost = _run(tmp_path, "check", model, "--config", config, "--payload", fifo)
    _refused(cost, fifo, "a FIFO (named pipe)")


def test_payload_validate_refuses_a_fifo(tmp_path: Path, fifo: Path, config: Path) -> None:
    """`payload --validate` on a FIFO says what it is (it said "does not exist")."""
    _refused(_run(tmp_path, "payload", config, "--validate", fifo), fifo, "a FIFO (named pipe)")
