"""The front ends' shared pieces of issue 19: region parsing and defaults, output formats and
timestamps, progress bars."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from mimsreg.errors import BadInputError
from mimsreg.output import for_machines, human_time, iso_utc, render
from mimsreg.progress import byte_progress, eta_seconds
from mimsreg.regions import default_regions, parse_regions, region_choices


def test_parse_regions_repeated_comma_separated_codes() -> None:
    assert parse_regions(["NA", "EU,fe", " us-east-1 ", "eu-west-1,,"]) == [
        "us-east-1",
        "eu-west-1",
        "us-west-2",
    ]
    with pytest.raises(BadInputError, match=r"--region: 'eu-wst-1' .* did you mean 'eu-west-1'"):
        parse_regions(["NA,eu-wst-1"])
    assert parse_regions(["us-east-3"]) == ["us-east-3"]  # a new region of a known shape


def test_default_regions_order() -> None:
    """MIMSREG_REGION, then AWS_REGION, then AWS_DEFAULT_REGION (the profile is last)."""
    env = {"AWS_DEFAULT_REGION": "us-west-2", "AWS_REGION": "eu-west-1", "MIMSREG_REGION": "NA,EU"}
    assert default_regions(env, with_profile=False) == ["us-east-1", "eu-west-1"]
    del env["MIMSREG_REGION"]
    assert default_regions(env, with_profile=False) == ["eu-west-1"]
    del env["AWS_REGION"]
    assert default_regions(env, with_profile=False) == ["us-west-2"]
    assert default_regions({}, with_profile=False) == []
    with pytest.raises(BadInputError, match=r"^MIMSREG_REGION: 'Mars'"):
        default_regions({"MIMSREG_REGION": "Mars"}, with_profile=False)


def test_region_completion() -> None:
    assert region_choices("F") == ["FE"]
    assert region_choices("NA,us-west") == ["NA,us-west-1", "NA,us-west-2"]


def test_timestamps_in_one_format() -> None:
    """Both backends' spellings become one ISO-8601 UTC form; tables show local time."""
    moment = datetime(2026, 3, 2, 13, 5, 9, 123456, tzinfo=timezone.utc)
    for spelling in (
        "2026-03-02T13:05:09.123456Z",
        "2026-03-02T13:05:09.123456+00:00",
        "2026-03-02T14:05:09.123456+01:00",
        "2026-03-02T13:05:09.123456",
        moment,
    ):
        assert iso_utc(spelling) == "2026-03-02T13:05:09Z", spelling
    assert iso_utc("not a time") == "not a time"
    assert human_time(moment) == moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    nested = {"created_at": moment, "approval_history": [{"at": moment, "note": "2026"}]}
    assert for_machines(nested) == {
        "created_at": "2026-03-02T13:05:09Z",
        "approval_history": [{"at": "2026-03-02T13:05:09Z", "note": "2026"}],
    }
    assert render([], "yaml") == "[]"
    assert render({"created_at": moment}, "yaml") == "created_at: '2026-03-02T13:05:09Z'"


def test_eta_holds_from_the_average_rate() -> None:
    """Time left from the average since the first byte; nothing said before there is enough."""
    assert eta_seconds(0, 100, 0.0, 5.0) is None
    assert eta_seconds(10, 1000, 0.0, 0.5) is None  # under a second seen
    assert eta_seconds(5, 1000, 0.0, 2.0) is None  # under 1 % seen
    assert eta_seconds(250, 1000, 10.0, 11.0) == pytest.approx(3.0)
    # A slow first part and then the real rate: the estimate is the average, not the burst.
    assert eta_seconds(500, 1000, 0.0, 5.0) == pytest.approx(5.0)


def screen(output: str) -> str:
    """What stays on a terminal: the text after the last line erase, without colour codes."""
    import re

    last = output.rsplit("\x1b[2K", 1)[-1]
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", last).replace("\r", "").strip()


def console() -> tuple[object, io.StringIO]:
    from rich.console import Console

    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=120), buffer


def test_progress_ends_at_100_percent_with_bytes_and_rate() -> None:
    """Counts that fall short (a region found unchanged) still end at 100 % after success."""
    term, buffer = console()
    total = 10 * 1024**2
    with byte_progress("copying", total, console=term, min_bytes=0) as count:  # type: ignore[arg-type]
        assert count is not None
        for _ in range(5):
            count(1024**2)
    left = screen(buffer.getvalue())
    assert left.startswith("copying"), left
    assert "100%" in left
    assert "10.0/10.0 MiB" in left
    assert "/s" in left


def test_progress_leaves_nothing_when_nothing_was_copied() -> None:
    """Every region unchanged: no bar stays behind (it used to leave "copying 0%")."""
    term, buffer = console()
    with byte_progress("copying", 10 * 1024**2, console=term, min_bytes=0):  # type: ignore[arg-type]
        pass
    assert screen(buffer.getvalue()) == ""


def test_progress_cumulative_counts() -> None:
    term, buffer = console()
    with byte_progress("inspecting", 1000, console=term, min_bytes=0, cumulative=True) as count:  # type: ignore[arg-type]
        assert count is not None
        count(400)
        count(1000)
    assert "100%" in screen(buffer.getvalue())


def test_no_bar_when_small_or_not_a_terminal() -> None:
    with byte_progress("copying", 10) as count:
        assert count is None
    with byte_progress("copying", 10**12) as count:  # pytest's stderr is no terminal
        assert count is None
