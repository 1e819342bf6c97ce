"""Packaged model inspection: one safe streaming pass over ``model.tar.gz``.

Portable: standard library only, Python 3.9 (it runs inside the processing job too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PackageLimits", "PackageManifest", "PackageMember"]


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
