"""Inventory backends, chosen by URI.

- ``local`` (default): SQLite at ``$MIMSREG_HOME/inventory.db`` (``~/.mimsreg``), artifacts
  beside it;
- ``sqlite:///path/to/file.db``: SQLite at that path, artifacts in the file's folder;
- ``sagemaker``: SageMaker Model Registry and S3, one client per region (the
  ``sagemaker`` package).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from mimsreg.engine.errors import InventoryError, InventoryLocationError, InventoryURIError
from mimsreg.engine.inventory.base import Inventory, VersionRecord

__all__ = ["INVENTORY_URIS", "Inventory", "VersionRecord", "open_inventory"]

INVENTORY_URIS = "'local', 'sqlite:///path/to/file.db' or 'sagemaker'"


def open_inventory(uri: str = "local", regions: Sequence[str] | None = None) -> Inventory:
    """The inventory backend a URI names; :class:`InventoryURIError` for anything else."""
    if uri == "local":
        return _open_local(None, "MIMSREG_HOME" if os.environ.get("MIMSREG_HOME") else "~/.mimsreg")
    if uri.startswith("sqlite://"):
        path = uri[len("sqlite://") :]
        if not path.startswith("/") or path == "/":
            raise InventoryURIError(
                f"inventory {uri!r}: write sqlite:///absolute/path/to/file.db (three slashes)"
            )
        return _open_local(Path(path), f"--inventory {uri}")
    if uri == "sagemaker":
        from mimsreg.engine.inventory.sagemaker import SageMakerInventory

        return SageMakerInventory(regions=regions)
    raise InventoryURIError(f"unknown inventory {uri!r}: use {INVENTORY_URIS}")


def _open_local(database: Path | None, label: str) -> Inventory:
    """A local inventory; when its location cannot be used, :class:`InventoryLocationError`
    naming the path and why (never a traceback, never a half-made inventory)."""
    from mimsreg.engine.inventory.local import LocalInventory, default_home
    from mimsreg.engine.inventory.location import location_problem

    target = (database or default_home() / "inventory.db").absolute()
    try:
        return LocalInventory(database)
    except (OSError, InventoryError) as exc:
        problem = location_problem(target, label)
        if problem:
            raise InventoryLocationError(problem) from exc
        if isinstance(exc, OSError):
            raise InventoryLocationError(f"{label} {str(target)!r}: {exc.strerror or exc}") from exc
        raise
