"""What commands print for people and for programs: ``--output table|json|yaml``.

One shape for both backends: in JSON and YAML every timestamp is ISO-8601 UTC to the second
(``2026-01-02T03:04:05Z``), whichever backend wrote it and however it stored it; in tables it is
local time to the second (``2026-01-02 04:04:05``). An empty result says so in a table, and is
an empty list in JSON and YAML.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import click

__all__ = [
    "OUTPUT_FORMATS",
    "TIMESTAMP_KEYS",
    "echo_rows",
    "emit",
    "for_machines",
    "for_people",
    "human_time",
    "iso_utc",
    "render",
    "table_lines",
]

OUTPUT_FORMATS = ("table", "json", "yaml")
# The keys whose values are timestamps, wherever they sit in a record.
TIMESTAMP_KEYS = frozenset(
    {"created_at", "at", "updated_at", "deleted_at", "registered_at", "last_modified"}
)


def _parse(value: Any) -> datetime | None:
    """A timestamp as an aware datetime: datetimes and ISO-8601 strings (``Z`` or an offset;
    a naive one is taken as UTC, as both backends write UTC); None for anything else."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def iso_utc(value: Any) -> Any:
    """``value`` as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC when it is a timestamp, else unchanged."""
    moment = _parse(value)
    if moment is None:
        return value
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def human_time(value: Any) -> Any:
    """``value`` as ``YYYY-MM-DD HH:MM:SS`` in local time when it is a timestamp, else unchanged."""
    moment = _parse(value)
    if moment is None:
        return value
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _convert(data: Any, convert: Callable[[Any], Any]) -> Any:
    if isinstance(data, Mapping):
        return {
            key: convert(value) if key in TIMESTAMP_KEYS else _convert(value, convert)
            for key, value in data.items()
        }
    if isinstance(data, (list, tuple)):
        return [_convert(item, convert) for item in data]
    return data


def for_machines(data: Any) -> Any:
    """``data`` with every timestamp (by key, at any depth) in ISO-8601 UTC."""
    return _convert(data, iso_utc)


def for_people(data: Any) -> Any:
    """``data`` with every timestamp (by key, at any depth) in local time."""
    return _convert(data, human_time)


def render(data: Any, output: str) -> str:
    """``data`` as JSON or YAML text (timestamps in ISO-8601 UTC), without a final newline."""
    normalised = for_machines(data)
    if output == "yaml":
        import yaml

        return str(
            yaml.safe_dump(
                json.loads(json.dumps(normalised, default=str)),
                sort_keys=False,
                allow_unicode=True,
            )
        ).rstrip("\n")
    return json.dumps(normalised, indent=2, sort_keys=False, default=str)


def _cell(row: Mapping[str, Any], column: str) -> str:
    value = row.get(column)
    if value is None:
        return ""
    return str(human_time(value) if column in TIMESTAMP_KEYS else value)


def table_lines(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> list[str]:
    """Rows as aligned columns under a header line, timestamps in local time."""
    cells = [[_cell(row, column) for column in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    header = "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))
    return [header.rstrip()] + [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]


def emit(
    data: Any,
    output: str,
    table: Callable[[], None] | None = None,
) -> None:
    """Print ``data`` as JSON or YAML, or call ``table`` to print it for people."""
    if output in ("json", "yaml") or table is None:
        click.echo(render(data, "yaml" if output == "yaml" else "json"))
        return
    table()


def echo_rows(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    output: str,
    *,
    empty: str,
    data: Any = None,
) -> None:
    """``rows`` as a table (``empty`` said instead when there are none), or ``data`` (default:
    the rows) as JSON or YAML."""

    def table() -> None:
        if not rows:
            click.echo(empty)
            return
        for line in table_lines(rows, columns):
            click.echo(line)

    emit(rows if data is None else data, output, table)
