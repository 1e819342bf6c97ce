"""Sorting and paging of the UI's tables, server side, by query parameters
(``?sort=created_at&order=desc&page=2&per_page=50``), and the links of their headers and pagers.

Pure: the parameters come in as a mapping, the rows as a list, and the links are built from the
table's path and the parameters it keeps (the filters), so no page needs JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from mimsreg.errors import BadInputError

__all__ = [
    "ORDERS",
    "PER_PAGE",
    "PER_PAGE_CHOICES",
    "PER_PAGE_MAX",
    "Table",
    "TableQuery",
    "human_time",
    "moment",
    "table_query",
]

T = TypeVar("T")

ORDERS = ("asc", "desc")
PER_PAGE = 50
# Bounded: every row of a page may cost a read of the whole version (SageMaker: requests).
PER_PAGE_MAX = 200
PER_PAGE_CHOICES = (25, 50, 100, 200)
_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class TableQuery:
    """How a table is to be shown: sorted by ``sort`` in ``order``, page ``page`` of
    ``per_page`` rows."""

    sort: str
    order: str
    page: int = 1
    per_page: int = PER_PAGE


def _positive(params: Mapping[str, str], name: str, default: int, most: int | None) -> int:
    text = params.get(name, "").strip()
    if not text:
        return default
    bound = f"1 to {most}" if most else "1 or more"
    if not text.isdigit() or not 1 <= int(text) <= (most or int(text)):
        raise BadInputError(f"{name} {text!r}: use a whole number, {bound}")
    return int(text)


def table_query(
    params: Mapping[str, str],
    keys: Sequence[str],
    default: TableQuery,
    first_order: Mapping[str, str] | None = None,
) -> TableQuery:
    """The sort, order, page and per_page parameters, checked (400 naming the choices);
    ``default`` fills in what is absent. A sort without an order takes the key's first order
    (``first_order``, else ascending), as its header link would."""
    sort = params.get("sort", "").strip() or default.sort
    if sort not in keys:
        raise BadInputError(f"sort {sort!r}: use one of {', '.join(keys)}")
    usual = default.order if sort == default.sort else (first_order or {}).get(sort, "asc")
    order = params.get("order", "").strip() or usual
    if order not in ORDERS:
        raise BadInputError(f"order {order!r}: use asc or desc")
    return TableQuery(
        sort=sort,
        order=order,
        page=_positive(params, "page", 1, None),
        per_page=_positive(params, "per_page", default.per_page, PER_PAGE_MAX),
    )


def moment(value: object) -> datetime:
    """A recorded timestamp as an aware datetime, whichever backend wrote it (``...Z`` or
    ``...+00:00``, with or without fractions); the earliest moment when it is not one."""
    text = str(value or "").strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return _EPOCH
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def human_time(value: object) -> str:
    """A timestamp as people read it, to the second and in UTC (the server's zone is none of the
    reader's business, and the page has no script to use theirs); unparseable text as it is."""
    when = moment(value)
    if when == _EPOCH:
        return str(value or "")
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _url(path: str, params: Mapping[str, object]) -> str:
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return path + ("?" + urlencode(query) if query else "")


@dataclass(frozen=True)
class Table(Generic[T]):
    """One page of sorted rows, with what the header links and the pager need.

    ``keep``: the parameters every link carries (the page's filters); ``default``: the order a
    table starts in, also the order each key takes first when its header is clicked.
    """

    path: str
    query: TableQuery
    rows: list[T]
    total: int
    default: TableQuery
    keep: Mapping[str, str] = field(default_factory=dict)
    first_order: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        items: Sequence[T],
        query: TableQuery,
        keys: Mapping[str, Callable[[T], Any]],
        *,
        path: str,
        default: TableQuery,
        keep: Mapping[str, str] | None = None,
        first_order: Mapping[str, str] | None = None,
    ) -> Table[T]:
        """``items`` (in their tie-breaking order) sorted by ``keys[query.sort]``, paged."""
        ordered = sorted(items, key=keys[query.sort], reverse=query.order == "desc")
        start = (query.page - 1) * query.per_page
        return cls(
            path=path,
            query=query,
            rows=ordered[start : start + query.per_page],
            total=len(ordered),
            default=default,
            keep=dict(keep or {}),
            first_order=dict(first_order or {}),
        )

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))

    def _params(self, **changes: object) -> dict[str, object]:
        """The link's parameters in one order (filters, sort, order, per_page, page), those at
        their defaults left out."""
        query = self.query
        current: dict[str, object] = {
            "sort": query.sort,
            "order": query.order,
            "per_page": query.per_page,
            "page": query.page,
        }
        current.update(changes)
        if (current["sort"], current["order"]) == (self.default.sort, self.default.order):
            current.update(sort=None, order=None)
        if current["per_page"] == self.default.per_page:
            current["per_page"] = None
        if current["page"] == 1:
            current["page"] = None
        return {**self.keep, **current}

    def sort_url(self, key: str) -> str:
        """The header link of ``key``: sorted by it, the order flipped when it already is; back
        to the first page."""
        if key == self.query.sort:
            order = "asc" if self.query.order == "desc" else "desc"
        else:
            order = self.first_order.get(key, "asc")
        return _url(self.path, self._params(sort=key, order=order, page=1))

    def aria_sort(self, key: str) -> str:
        if key != self.query.sort:
            return "none"
        return "ascending" if self.query.order == "asc" else "descending"

    def arrow(self, key: str) -> str:
        if key != self.query.sort:
            return ""
        return "▲" if self.query.order == "asc" else "▼"

    def page_url(self, page: int) -> str:
        return _url(self.path, self._params(page=page))

    def per_page_url(self, per_page: int) -> str:
        return _url(self.path, self._params(per_page=per_page, page=1))

    def headers(self) -> dict[str, str]:
        """The paging facts the JSON API sends beside a page of rows (its body keeps its shape)."""
        return {"X-Total-Count": str(self.total), "X-Page-Count": str(self.pages)}
