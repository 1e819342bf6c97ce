"""Why a local inventory's location cannot be used, said in one line that names it.

Asked after opening failed (SQLite and the filesystem say "unable to open database file" or
"Not a directory" without the path that is wrong): a file where a folder must be, a folder that
cannot be created, a folder or database that is not writable, a read-only filesystem.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["file_in_the_way", "location_problem"]


def _read_only_filesystem(path: Path) -> bool:
    try:
        return bool(os.statvfs(str(path)).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return False


def _unwritable(path: Path, label: str) -> str | None:
    if _read_only_filesystem(path):
        return f"{label} {str(path)!r} is on a read-only filesystem"
    if not os.access(str(path), os.W_OK):
        return f"{label} {str(path)!r} is not writable by this user"
    return None


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; a folder on the way this user may not search counts as absent
    (the walk up then finds it and says so)."""
    try:
        path.stat()
    except OSError:
        return False
    return True


def _nearest_existing(folder: Path) -> tuple[Path, list[Path]]:
    missing = []
    current = folder
    while not _exists(current) and current.parent != current:
        missing.append(current)
        current = current.parent
    return current, missing


def file_in_the_way(folder: Path, label: str) -> str | None:
    """A file where ``folder`` or one of its parents must be: named, or None. Checked before a
    read too, which would otherwise find "nothing registered" behind it."""
    current, _ = _nearest_existing(folder)
    if current.is_dir():
        return None
    if current == folder:
        return f"{label} {str(folder)!r} is a file, not a folder"
    return f"{label} {str(folder)!r} cannot be created: {str(current)!r} is a file"


def _folder_problem(folder: Path, label: str, *, write: bool) -> str | None:
    """Why ``folder`` cannot hold the inventory: a file in its path, or one that cannot be
    created, reached or written."""
    blocked = file_in_the_way(folder, label)
    if blocked:
        return blocked
    current, missing = _nearest_existing(folder)
    if not os.access(str(current), os.X_OK):
        return f"{label} {str(folder)!r} cannot be reached: {str(current)!r} is not searchable"
    if not missing:
        return _unwritable(folder, label) if write else None
    if not write:
        return f"{label} {str(folder)!r} does not exist"
    blocked = _unwritable(current, "its parent")
    if blocked:
        return f"{label} {str(folder)!r} cannot be created: {blocked}"
    return None


def location_problem(database: Path, label: str, *, write: bool = True) -> str | None:
    """What is wrong with using ``database`` (and its folder, which holds the artifacts) as the
    local inventory, named by ``label`` (``MIMSREG_HOME``, ``--inventory sqlite:///...``); None
    when nothing visible is."""
    folder = database.parent
    problem = _folder_problem(folder, label, write=write)
    if problem:
        return problem
    if database.is_dir():
        return f"{label}: {str(database)!r} is a folder, not a database file"
    if not database.exists():
        return None if write else f"{label}: {str(database)!r} does not exist"
    if write:
        return _unwritable(database, f"{label}: the database")
    if not os.access(str(database), os.R_OK):
        return f"{label}: the database {str(database)!r} is not readable by this user"
    return None
