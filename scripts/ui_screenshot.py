"""Take docs/ui-version-page.png: the `mimsreg ui` version page over a seeded demo inventory.

Uses the browser tests' setup: the system Chromium (/usr/bin/chromium, Debian's package) driven
by Playwright, and uvicorn on a free 127.0.0.1 port. Run from the repository root:

    .venv/bin/python scripts/ui_screenshot.py [-o docs/ui-version-page.png]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # the seed and browser helpers live in tests/

from playwright.sync_api import sync_playwright  # noqa: E402
from tests.support.browser import CHROMIUM, MISSING_CHROMIUM, launch_chromium, serve  # noqa: E402
from tests.support.ui_seed import FRAUD, seed_ui_inventory  # noqa: E402

from mimsreg.engine.inventory.local import LocalInventory  # noqa: E402


def main() -> int:
    """Seed a throwaway inventory, serve it, and screenshot one version page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=REPO_ROOT / "docs/ui-version-page.png")
    args = parser.parse_args()
    if not CHROMIUM.is_file():
        print(MISSING_CHROMIUM, file=sys.stderr)
        return 1
    with (
        tempfile.TemporaryDirectory(prefix="mimsreg-ui-demo-") as work,
        LocalInventory(Path(work) / "inventory.db") as inventory,
    ):
        seed_ui_inventory(inventory, Path(work) / "models")
        with serve(inventory) as url, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(f"{url}/groups/{FRAUD}/versions/1?region=eu-west-1")
            args.output.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.output), full_page=True)
            browser.close()
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
