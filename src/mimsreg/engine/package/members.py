"""What an archive holds: members, limits, the manifest, and the rules on names."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol, Union

# Run-time aliases must not use `X | Y`: this module runs on Python 3.9.
PathLike = Union[str, "os.PathLike[str]"]
Progress = Optional[Callable[[int], None]]

DEFAULT_ENTRY_POINT = "inference.py"
_CODE_DIR = "code"


@dataclass(frozen=True)
class PackageMember:
    """One entry of the archive."""

    name: str
    size: int
    type: str  # "file" | "dir" | "symlink" | "hardlink"
    link_target: str | None = None


@dataclass(frozen=True)
class PackageLimits:
    """Caps that stop a gzip bomb early while passing a real 20 GB model."""

    max_members: int = 100_000
    max_uncompressed_bytes: int = 64 * 1024**3
    max_compression_ratio: float = 200.0
    # The ratio is only judged once this much has been inflated: tiny archives compress well.
    ratio_grace_bytes: int = 64 * 1024**2
    # A member name or link target: Linux's PATH_MAX; no extraction could write a longer one.
    max_name_bytes: int = 4096
    # A pax or GNU long-name header is held in memory while it is read.
    max_extended_header_bytes: int = 1024**2
    # Extraction copies link members (it never creates links): the copies may add as many bytes
    # as the archive's own files hold, or this many when the files hold less.
    link_copy_grace_bytes: int = 64 * 1024**2


@dataclass(frozen=True)
class PackageManifest:
    """What one pass over the archive found."""

    path: Path
    sha256: str
    size: int
    compression: str  # "gzip" | "none"
    members: tuple[PackageMember, ...]
    uncompressed_size: int
    entry_point: str | None
    model_files: tuple[str, ...] = field(default=())

    @property
    def code_files(self) -> tuple[str, ...]:
        """The names of the files under ``code/`` (the inference code)."""
        return tuple(m.name for m in self.members if _is_file(m) and _in_code(m.name))

    def member(self, name: str) -> PackageMember | None:
        """The member called ``name`` (normalised, as in :attr:`members`), if there is one."""
        for member in self.members:
            if member.name == name:
                return member
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary (the ``--json`` output of ``mimsreg inspect``)."""
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "size": self.size,
            "compression": self.compression,
            "uncompressed_size": self.uncompressed_size,
            "entry_point": self.entry_point,
            "model_files": list(self.model_files),
            "members": [
                {"name": m.name, "size": m.size, "type": m.type, "link_target": m.link_target}
                for m in self.members
            ],
        }


class _HasEntryPoint(Protocol):
    @property
    def inference_entry_point(self) -> str: ...


def _is_file(member: PackageMember) -> bool:
    return member.type in ("file", "hardlink")


def _in_code(name: str) -> bool:
    return name.split("/", 1)[0] == _CODE_DIR and name != _CODE_DIR


def _escapes(normalised: str) -> bool:
    """Whether a ``posixpath.normpath``-normalised relative path leaves the archive root.

    Compared component by component (as ``os.path.commonpath`` does), never as a string prefix:
    ``..foo`` is a fine name, ``../foo`` is not.
    """
    return normalised.split("/", 1)[0] == ".."
