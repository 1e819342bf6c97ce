"""Local inputs (a model archive, a payload): a regular file or a folder, nothing else.

A FIFO blocks whoever opens it for reading until a writer comes, and ``/dev/zero`` never ends:
the commands that read a user's file (``inspect``, ``check``, ``payload --validate``) ask
:func:`refuse_special_file` first, which looks with ``stat`` and never opens the path.

Portable (runs in the processing job on Python 3.9): standard library only.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Union

from mimsreg.engine.errors import BadInputError

# Run-time aliases must not use `X | Y`: this module runs on Python 3.9.
PathLike = Union[str, "os.PathLike[str]"]

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def special_file_kind(path: PathLike) -> str | None:
    """What ``path`` is when it exists and is neither a regular file nor a folder, else None.

    Symlinks are followed (a link to a FIFO is a FIFO); nothing is opened.
    """
    try:
        mode = Path(path).stat().st_mode
    except (OSError, ValueError):  # missing, unreadable, or a NUL in the name: the reader says
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "an unknown kind of file"


def refuse_special_file(
    path: PathLike, what: str, error: type[BadInputError] = BadInputError
) -> None:
    """Raise ``error`` naming ``what`` and ``path`` when it is a FIFO, a device or a socket."""
    kind = special_file_kind(path)
    if kind is not None:
        raise error(
            f"{what} {os.fspath(path)!r} is {kind}, not a regular file or folder: "
            "refused without reading it"
        )
