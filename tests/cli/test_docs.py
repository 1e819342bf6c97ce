"""The README documents every command and every option (as sqlite-utils' tests/test_docs.py)."""

from __future__ import annotations

import re

import click
import pytest

from mimsreg.cli import cli
from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(cli.commands)


def rows_of(name: str) -> str:
    """The README's rows of the Commands table for ``mimsreg NAME`` (a command may have two)."""
    pattern = re.compile(rf"^\| `mimsreg {re.escape(name)}( |`)", re.MULTILINE)
    return "\n".join(line for line in README.splitlines() if pattern.match(line))


def options(command: click.Command) -> list[list[str]]:
    """Each option's spellings (``-o`` and ``--output``); ``--help`` is left out."""
    return [
        param.opts + param.secondary_opts
        for param in command.params
        if isinstance(param, click.Option)
    ]


def documented(spellings: list[str], rows: str) -> bool:
    return any(re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", rows) for opt in spellings)


def test_every_command_is_in_the_readme() -> None:
    missing = [name for name in COMMANDS if not rows_of(name)]
    assert missing == []


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_is_in_the_readme(name: str) -> None:
    """Each option of each command appears in that command's row of the Commands table."""
    rows = rows_of(name)
    missing = [opts for opts in options(cli.commands[name]) if not documented(opts, rows)]
    assert missing == [], f"mimsreg {name}: {missing} not in README.md"


def test_a_missing_option_is_noticed() -> None:
    """The check itself: an option no row names is reported."""
    assert not documented(["--no-such-option"], rows_of("list"))
    assert documented(["-o", "--output"], rows_of("payload"))
