"""``mimsreg ui``: a read-mostly web page (and JSON API) over an inventory.

Needs the ``ui`` extra (Starlette, Jinja2, uvicorn): ``pip install 'mimsreg[ui]'``.
"""

from __future__ import annotations

from mimsreg.ui.app import create_app

__all__ = ["create_app"]
