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

from mimsreg.engine.errors import (
    InventoryError,
    InventoryLocationError,
    InventoryURIError,
    NotFoundError,
)
from mimsreg.engine.inventory.base import Inventory, VersionRecord

__all__ = ["INVENTORY_URIS", "Inventory", "VersionRecord", "open_inventory"]

INVENTORY_URIS = "'local', 'sqlite:///path/to/file.db' or 'sagemaker'"


def open_inventory(
    uri: str = "local", regions: Sequence[str] | None = None, *, read_only: bool = False
) -> Inventory:
    """The inventory backend a URI names; :class:`InventoryURIError` for anything else.

    ``read_only``: for commands that only read; a local database is opened ``mode=ro`` and never
    created (a ``sqlite:///`` path that does not exist is :class:`NotFoundError`; the default
    home before anything was registered reads as an empty inventory).
    """
    if uri == "local":
        label = "MIMSREG_HOME" if os.environ.get("MIMSREG_HOME") else "~/.mimsreg"
        return _open_local(None, label, read_only=read_only, empty_when_missing=True)
    if uri.startswith("sqlite://"):
        path = uri[len("sqlite://") :]
        if not path.startswith("/") or path == "/":
            raise InventoryURIError(
                f"inventory {uri!r}: write sqlite:///absolute/path/to/file.db (three slashes)"
            )
        return _open_local(Path(path), f"--inventory {uri}", read_only=read_only)
    if uri == "sagemaker":
        from mimsreg.engine.inventory.sagemaker import SageMakerInventory

        return SageMakerInventory(regions=regions)
    raise InventoryURIError(f"unknown inventory {uri!r}: use {INVENTORY_URIS}")


def _open_local(
    database: Path | None, label: str, *, read_only: bool, empty_when_missing: bool = False
) -> Inventory:
    """A local inventory; when its location cannot be used, :class:`InventoryLocationError`
    naming the path and why (never a traceback, never a half-made inventory)."""
    from mimsreg.engine.inventory.local import LocalInventory, default_home
    from mimsreg.engine.inventory.location import file_in_the_way, location_problem

    target = (database or default_home() / "inventory.db").absolute()
    blocked = file_in_the_way(target.parent, label)
    if blocked:
        raise InventoryLocationError(blocked)
    try:
        return LocalInventory(database, read_only=read_only, empty_when_missing=empty_when_missing)
    except NotFoundError:  # a sqlite:/// path read that does not exist: said as it is
        raise
    except (OSError, InventoryError) as exc:
        problem = location_problem(target, label, write=not read_only)
        if problem:
            raise InventoryLocationError(problem) from exc
        if isinstance(exc, OSError):
            raise InventoryLocationError(f"{label} {str(target)!r}: {exc.strerror or exc}") from exc
        raise
