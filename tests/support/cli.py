"""The one way tests run the ``mimsreg`` command in process."""

from __future__ import annotations

from collections.abc import Mapping

from click.testing import CliRunner, Result

from mimsreg.cli import cli

__all__ = ["invoke"]


def invoke(
    *args: object, input: str | None = None, env: Mapping[str, str | None] | None = None
) -> Result:
    """Run ``mimsreg ARGS`` with click's runner: arguments are turned into strings, stderr is
    kept apart from stdout (``result.stderr``), an exception is caught into ``result``."""
    return CliRunner().invoke(cli, [str(arg) for arg in args], input=input, env=env)
