"""The engine's modules under their old paths, for one release: a warning and the same module."""

from __future__ import annotations

import importlib
import importlib.util
import sys

import pytest

from mimsreg.engine._moved import MOVED, MovedModuleFinder, install

DEPRECATED = "is deprecated and will be removed in the next release"


@pytest.fixture(autouse=True)
def _forget_old_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test imports the old names afresh (sys.modules is restored afterwards)."""
    for old in MOVED:
        monkeypatch.delitem(sys.modules, old, raising=False)
        parent, _, name = old.rpartition(".")
        if parent in sys.modules:
            monkeypatch.delattr(sys.modules[parent], name, raising=False)


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_an_old_path_warns_and_gives_the_moved_module(old: str, new: str) -> None:
    with pytest.warns(DeprecationWarning, match=DEPRECATED) as caught:
        module = importlib.import_module(old)
    # mimsreg.inventory.local warns for its package too
    assert f"{old} {DEPRECATED}: import {new}" in [str(w.message) for w in caught]
    assert module is importlib.import_module(new)
    assert module.__name__ == new
    assert module.__spec__ is not None
    assert module.__spec__.name == new  # the real spec is given back, find_spec keeps working
    assert importlib.util.find_spec(new) is module.__spec__


def test_from_imports_of_old_names_work() -> None:
    """What users wrote keeps working: ``from mimsreg.plan import build_plan`` and the like."""
    from mimsreg.engine import job, plan

    with pytest.warns(DeprecationWarning, match="mimsreg.plan is deprecated"):
        from mimsreg.plan import build_plan  # type: ignore[import-not-found]
    with pytest.warns(DeprecationWarning, match="mimsreg.runtime is deprecated"):
        from mimsreg import runtime  # type: ignore[attr-defined]
    assert build_plan is plan.build_plan
    assert runtime is job


def test_a_submodule_of_an_old_package_is_not_loaded_twice() -> None:
    """``mimsreg.inventory.local`` is the engine's module, not a second copy of its file."""
    from mimsreg.engine.inventory import local

    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        old = importlib.import_module("mimsreg.inventory.local")
    assert old is local
    assert old.LocalInventory is local.LocalInventory


def test_the_warning_points_at_the_importing_line() -> None:
    with pytest.warns(DeprecationWarning, match="mimsreg.spec") as caught:
        import mimsreg.spec  # type: ignore[import-not-found]  # noqa: F401
    assert caught[0].filename == __file__


def test_other_names_are_not_answered() -> None:
    finder = MovedModuleFinder()
    assert finder.find_spec("mimsreg.engine.plan") is None
    assert finder.find_spec("mimsreg.nothing") is None


def test_install_puts_one_finder_first() -> None:
    install()
    install()
    finders = [f for f in sys.meta_path if isinstance(f, MovedModuleFinder)]
    assert len(finders) == 1
    assert isinstance(sys.meta_path[0], MovedModuleFinder)
