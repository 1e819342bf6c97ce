"""Sorting, paging and timestamps of the UI's tables, as pure functions."""

from __future__ import annotations

import pytest

from mimsreg.errors import BadInputError
from mimsreg.ui.tables import PER_PAGE_MAX, Table, TableQuery, human_time, moment, table_query

DEFAULT = TableQuery("version", "desc")
KEYS = {"version": lambda r: r[0], "region": lambda r: r[1]}
ROWS = [(2, "us-east-1"), (1, "eu-west-1"), (1, "us-east-1"), (1, "us-west-2")]


def test_both_backends_timestamps_read_the_same() -> None:
    """The local store's ``...Z`` and SageMaker's ``...+00:00`` are one moment, shown one way."""
    local, sagemaker = "2026-12-07T23:05:23.810309Z", "2026-12-07T23:05:23.810309+00:00"
    assert moment(local) == moment(sagemaker)
    assert human_time(local) == human_time(sagemaker) == "2026-12-07 23:05:23 UTC"
    assert human_time("2026-12-08T01:05:23+02:00") == "2026-12-07 23:05:23 UTC"
    assert human_time("yesterday") == "yesterday"
    assert moment("yesterday") < moment(local)


def test_ties_keep_the_given_order_both_ways() -> None:
    """Sorted by version either way, equal versions stay in region order (the rows' order)."""
    down = Table.of(ROWS, DEFAULT, KEYS, path="/g", default=DEFAULT).rows
    assert down == ROWS
    up = Table.of(ROWS, TableQuery("version", "asc"), KEYS, path="/g", default=DEFAULT).rows
    assert up == [(1, "eu-west-1"), (1, "us-east-1"), (1, "us-west-2"), (2, "us-east-1")]


def test_pages_and_links() -> None:
    """Pages cut the sorted rows; links keep the filters first, then sort, order, per_page and
    page, leaving out what is at its default."""
    query = table_query({"sort": "region", "per_page": "3", "page": "2"}, list(KEYS), DEFAULT)
    table = Table.of(ROWS, query, KEYS, path="/g", default=DEFAULT, keep={"q": "a b"})
    assert (table.rows, table.total, table.pages) == ([(1, "us-west-2")], 4, 2)
    assert table.page_url(1) == "/g?q=a+b&sort=region&order=asc&per_page=3"
    assert table.sort_url("region") == "/g?q=a+b&sort=region&order=desc&per_page=3"
    assert table.sort_url("version") == "/g?q=a+b&sort=version&order=asc&per_page=3"
    assert table.per_page_url(50) == "/g?q=a+b&sort=region&order=asc"
    assert (table.arrow("region"), table.aria_sort("version")) == ("▲", "none")
    empty = Table.of([], DEFAULT, KEYS, path="/g", default=DEFAULT)
    assert (empty.pages, empty.sort_url("version")) == (1, "/g?sort=version&order=asc")


def test_a_sort_without_order_takes_its_first_order() -> None:
    """``?sort=created_at`` alone sorts newest first, as its header link does."""
    keys = ["version", "created_at", "region"]
    first = {"created_at": "desc"}
    assert table_query({"sort": "created_at"}, keys, DEFAULT, first).order == "desc"
    assert table_query({"sort": "region"}, keys, DEFAULT, first).order == "asc"
    assert table_query({}, keys, DEFAULT, first) == DEFAULT


@pytest.mark.parametrize("per_page", ["0", str(PER_PAGE_MAX + 1), "1.5", "1e3", " "])
def test_per_page_is_bounded(per_page: str) -> None:
    """per_page outside 1..PER_PAGE_MAX is refused (a blank one is the default)."""
    if not per_page.strip():
        assert table_query({"per_page": per_page}, list(KEYS), DEFAULT).per_page == 50
        return
    with pytest.raises(BadInputError, match=f"per_page '{per_page}'"):
        table_query({"per_page": per_page}, list(KEYS), DEFAULT)
