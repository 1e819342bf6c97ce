"""The import paths the engine's modules had before they moved here, kept for one release.

``import mimsreg.plan`` still works: it warns (:class:`DeprecationWarning`) and gives the module
that now lives at ``mimsreg.engine.plan`` itself, the same object, so patching either name
patches both. One finder answers exactly these names (no file is left at the old paths);
``import mimsreg`` installs it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

__all__ = ["MOVED", "install"]

MOVED: dict[str, str] = {
    "mimsreg.execute": "mimsreg.engine.execute",
    "mimsreg.images": "mimsreg.engine.images",
    "mimsreg.inventory": "mimsreg.engine.inventory",
    "mimsreg.inventory.base": "mimsreg.engine.inventory.base",
    "mimsreg.inventory.create_lock": "mimsreg.engine.inventory.create_lock",
    "mimsreg.inventory.gc": "mimsreg.engine.inventory.gc",
    "mimsreg.inventory.local": "mimsreg.engine.inventory.local",
    "mimsreg.inventory.sagemaker": "mimsreg.engine.inventory.sagemaker",
    "mimsreg.package": "mimsreg.engine.package",
    "mimsreg.payload": "mimsreg.engine.payload",
    "mimsreg.plan": "mimsreg.engine.plan",
    "mimsreg.runtime": "mimsreg.engine.job",
    "mimsreg.spec": "mimsreg.engine.spec",
}


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds each old name in :data:`MOVED` and loads the new module under it, with a warning."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        # stacklevel 2 is the importing line: the warnings module skips the import machinery.
        warnings.warn(
            f"{spec.name} is deprecated and will be removed in the next release: import {new}",
            DeprecationWarning,
            stacklevel=2,
        )
        module = importlib.import_module(new)
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        """The module is the new one, already executed: only give it back its own spec, which the
        import system replaced with the old name's."""
        assert module.__spec__ is not None
        module.__spec__ = module.__spec__.loader_state


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once): it answers only the old names, and first,
    so ``mimsreg.inventory.local`` is not loaded a second time from the new package's folder."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())
