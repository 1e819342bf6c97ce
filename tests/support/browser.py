"""The browser tests' machinery, shared with scripts/ui_screenshot.py: the system Chromium driven
by Playwright (never `playwright install`), and a uvicorn server on 127.0.0.1 in a thread."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

from mimsreg.engine.inventory.base import Inventory
from mimsreg.ui import create_app
from tests.conftest import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM = Path(os.environ.get("MIMSREG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING_CHROMIUM = (
    f"no Chromium at {CHROMIUM}: the browser tests need Debian's chromium package "
    "(apt-get update && apt-get install -y chromium; .ci/run does this). "
    "Set MIMSREG_SKIP_BROWSER=1 to skip them explicitly."
)


def launch_chromium(playwright: Playwright) -> Browser:
    """The system Chromium, headless, with nothing that phones home."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@contextmanager
def serve(
    inventory: Inventory, allow_writes: bool = True, token: str | None = None
) -> Iterator[str]:
    """Run the UI over ``inventory`` with uvicorn on a free 127.0.0.1 port; yield its base URL."""
    port = free_port()
    app = create_app(
        inventory, allow_writes=allow_writes, default_actor="browser-tester", token=token
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="mimsreg-ui", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the UI server did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
