"""The variable schema in the seed's JSON shape. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mimsreg.engine.spec import VariableType

__all__ = ["variable_schema"]


def _variables(variables: Mapping[str, VariableType]) -> list[dict[str, str]]:
    return [{"name": name, "type": VariableType(kind).value} for name, kind in variables.items()]


def variable_schema(
    inputs: Mapping[str, VariableType], outputs: Mapping[str, VariableType]
) -> dict[str, Any]:
    """``{"input": {"variables": [...]}, "output": {"variables": [...]}}``, order preserved."""
    return {
        "input": {"variables": _variables(inputs)},
        "output": {"variables": _variables(outputs)},
    }
