"""Packaged model inspection: one safe streaming pass over ``model.tar.gz``.

Standard library only, Python 3.9 (it runs inside the processing job too).

- :mod:`.members`: what an archive holds (members, limits, the manifest) and the rules on names;
- :mod:`.reader`: the streaming tar/gzip reader, SHA-256 beside it, hostile archives refused;
- :mod:`.manifest`: the manifest rules (entry point, model files) and :func:`inspect_package`;
- :mod:`.extract`: :func:`extract_package`, the same pass writing files under one folder.
"""

from __future__ import annotations

from mimsreg.engine.package.extract import extract_package
from mimsreg.engine.package.manifest import inspect_package
from mimsreg.engine.package.members import (
    DEFAULT_ENTRY_POINT,
    PackageLimits,
    PackageManifest,
    PackageMember,
)
from mimsreg.engine.package.reader import CHUNK_SIZE, STDLIB_INFLATER, Inflater

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_ENTRY_POINT",
    "STDLIB_INFLATER",
    "Inflater",
    "PackageLimits",
    "PackageManifest",
    "PackageMember",
    "extract_package",
    "inspect_package",
]
