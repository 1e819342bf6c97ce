"""Write one reliability run's section of docs/reliability.md, leaving the other sections alone.

Besides its own section, each run writes its row of the summary table at the top of the page, so
the table a reader sees first always holds the figures of the last run of each kind.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _report import update_section as _update_section  # noqa: E402

RELIABILITY_DOC = ROOT / "docs" / "reliability.md"

# The summary's rows, in the order the page describes them; the first cell names the run.
SUMMARY_WHAT = {
    "faults": "Faults (500, 503 SlowDown, throttling, resets, delay)",
    "concurrency": "Concurrency (8 processes at once)",
    "crash": "Crashes (SIGKILL during `mimsreg register`)",
    "moves": "Moves (the local inventory moved between runs)",
    "modified": "Archives changed during `mimsreg register` (SageMaker)",
    "fuzz": "Hostile input (Hypothesis: configs, archives)",
}
SUMMARY_HEAD = "| what | command | how many times | what held | held |\n|---|---|---|---|---|"
SUMMARY_START, SUMMARY_END = "<!-- summary:start -->", "<!-- summary:end -->"


def update_section(name: str, title: str, body: str, doc: Path = RELIABILITY_DOC) -> None:
    """Replace (or append) the section ``name`` of docs/reliability.md."""
    _update_section(name, title, body, doc=doc)


def _cell(text: str) -> str:
    # A ``|`` inside a cell would split it.
    return text.replace("|", "\\|").replace("\n", " ")


def update_summary_row(
    name: str,
    command: str,
    runs: str,
    invariants: str,
    held: bool,
    doc: Path = RELIABILITY_DOC,
) -> None:
    """Write run ``name``'s row of the summary table at the top of the page; keep the others."""
    if name not in SUMMARY_WHAT:
        raise ValueError(f"unknown reliability run {name!r}; known: {', '.join(SUMMARY_WHAT)}")
    text = doc.read_text()
    rows: dict[str, str] = {}
    if SUMMARY_START in text and SUMMARY_END in text:
        before, rest = text.split(SUMMARY_START, 1)
        block, after = rest.split(SUMMARY_END, 1)
        by_what = {what: key for key, what in SUMMARY_WHAT.items()}
        for line in block.splitlines():
            first_cell = line.split("|")[1].strip() if line.startswith("|") else ""
            if first_cell in by_what:
                rows[by_what[first_cell]] = line
    else:
        # A new summary goes after the page's introduction, before the first section.
        first_section = text.find("<!-- ")
        before = (text if first_section < 0 else text[:first_section]).rstrip() + "\n\n"
        after = "" if first_section < 0 else "\n\n" + text[first_section:]
    cells = [SUMMARY_WHAT[name], f"`{command}`", runs, invariants, "yes" if held else "**NO**"]
    rows[name] = "| " + " | ".join(_cell(cell) for cell in cells) + " |"
    table = "\n".join([SUMMARY_HEAD] + [rows[key] for key in SUMMARY_WHAT if key in rows])
    doc.write_text(f"{before}{SUMMARY_START}\n{table}\n{SUMMARY_END}{after}")
