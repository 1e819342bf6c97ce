"""Working folders in the system's temporary folder that ``gc`` can tell are still in use.

Portable (Python 3.9, standard library). The register flow and ``check`` work in
``mimsreg-payload-*`` / ``mimsreg-check-*`` folders; a killed process cannot remove its own, so
``mimsreg gc`` removes old ones. Age alone cannot tell a leftover from a folder a long run is
still using, so the owner holds a shared ``flock`` on a marker file inside for as long as the
folder lives; the kernel drops it when the process ends, however it ends. ``gc`` skips a folder
whose marker it cannot lock exclusively.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; gc falls back to age alone
    fcntl = None  # type: ignore[assignment]

__all__ = ["IN_USE_MARKER", "in_use", "working_folder"]

IN_USE_MARKER = ".mimsreg-in-use"


@contextlib.contextmanager
def working_folder(prefix: str) -> Iterator[Path]:
    """A fresh folder in the system's temporary folder, marked in use until the block ends."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        marker = os.open(Path(folder) / IN_USE_MARKER, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(marker, fcntl.LOCK_SH)
            yield Path(folder)
        finally:
            os.close(marker)  # releases the lock


def in_use(folder: Path) -> bool:
    """Whether a live process holds ``folder``'s marker (False for a folder without one)."""
    if fcntl is None:  # pragma: no cover - Windows
        return False
    try:
        marker = os.open(folder / IN_USE_MARKER, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False  # no marker: an older mimsreg's folder, or one being torn down
    try:
        fcntl.flock(marker, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(marker)
    return False
