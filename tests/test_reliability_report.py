"""The summary table at the top of docs/reliability.md: each run rewrites its own row only."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability._report import update_section, update_summary_row

INTRO = "# Reliability\n\nIntro paragraph.\n"


def test_a_first_row_makes_the_table_between_the_introduction_and_the_sections(
    tmp_path: Path,
) -> None:
    doc = tmp_path / "reliability.md"
    doc.write_text(INTRO)
    update_section("crash", "Crashes", "crash body", doc=doc)
    update_summary_row("crash", "make reliability-crash", "50 kills", "0 duplicates", True, doc=doc)
    text = doc.read_text()
    assert text.index("Intro paragraph.") < text.index("<!-- summary:start -->")
    assert text.index("<!-- summary:end -->") < text.index("<!-- crash:start -->")
    assert "| Crashes (SIGKILL during `mimsreg register`) | `make reliability-crash` " in text
    assert "| 50 kills | 0 duplicates | yes |" in text


def test_rows_keep_their_order_and_a_rerun_replaces_only_its_own_row(tmp_path: Path) -> None:
    doc = tmp_path / "reliability.md"
    doc.write_text(INTRO)
    update_summary_row("fuzz", "make reliability-fuzz", "10,000", "no traceback", True, doc=doc)
    update_summary_row("faults", "make reliability-faults", "100", "no duplicate", True, doc=doc)
    update_summary_row("fuzz", "make reliability-fuzz", "20,000", "a|b", False, doc=doc)
    table = doc.read_text().split("<!-- summary:start -->\n")[1].split("\n<!-- summary:end -->")[0]
    rows = table.splitlines()
    assert len(rows) == 4  # head, rule, faults, fuzz
    assert rows[2].startswith("| Faults ")
    assert rows[3].startswith("| Hostile input ")
    assert "| 20,000 | a\\|b | **NO** |" in rows[3]
    assert "10,000" not in table


def test_an_unknown_run_is_refused(tmp_path: Path) -> None:
    doc = tmp_path / "reliability.md"
    doc.write_text(INTRO)
    with pytest.raises(ValueError, match="unknown reliability run 'soak'"):
        update_summary_row("soak", "make soak", "1", "x", True, doc=doc)
    assert doc.read_text() == INTRO
