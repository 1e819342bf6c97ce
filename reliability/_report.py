"""Write one reliability run's section of docs/reliability.md, leaving the other sections alone."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _report import update_section as _update_section  # noqa: E402

RELIABILITY_DOC = ROOT / "docs" / "reliability.md"


def update_section(name: str, title: str, body: str) -> None:
    """Replace (or append) the section ``name`` of docs/reliability.md."""
    _update_section(name, title, body, doc=RELIABILITY_DOC)
