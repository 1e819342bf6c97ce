"""Inventory backends, chosen by URI.

- ``local`` (default): SQLite at ``$MIMSREG_HOME/inventory.db`` (``~/.mimsreg``), artifacts
  beside it;
- ``sqlite:///path/to/file.db``: SQLite at that path, artifacts in the file's folder;
- ``sagemaker``: SageMaker Model Registry and S3, one client per region (the
  ``sagemaker`` package).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mimsreg.engine.errors import InventoryURIError
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
    from mimsreg.engine.inventory.local import LocalInventory

    if uri == "local":
        return LocalInventory(read_only=read_only, empty_when_missing=True)
    if uri.startswith("sqlite://"):
        path = uri[len("sqlite://") :]
        if not path.startswith("/") or path == "/":
            raise InventoryURIError(
                f"inventory {uri!r}: write sqlite:///absolute/path/to/file.db (three slashes)"
            )
        return LocalInventory(Path(path), read_only=read_only)
    if uri == "sagemaker":
        from mimsreg.engine.inventory.sagemaker import SageMakerInventory

        return SageMakerInventory(regions=regions)
    raise InventoryURIError(f"unknown inventory {uri!r}: use {INVENTORY_URIS}")
