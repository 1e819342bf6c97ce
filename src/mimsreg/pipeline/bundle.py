"""The runtime bundle: mimsreg's portable modules as one content-addressed, runnable zip.

The processing job runs ``python3 mimsreg-runtime.pyz ARGS``: Python runs a zip file
whose root holds ``__main__.py`` and puts the zip itself first on ``sys.path``, so the portable
modules import from it through zipimport (pure Python, standard library and boto3: what stock
SageMaker scikit-learn images have). Nothing is installed in the container.

The bytes are a pure function of the installed mimsreg sources: entries sorted, fixed timestamps
and permissions, stored without compression (deflate output may differ between zlib builds). So
the S3 key, which holds the SHA-256, and with it the pipeline definition, change exactly when the
code does.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mimsreg.errors import MimsregError

__all__ = [
    "BUNDLE_FILE_NAME",
    "RUNTIME_MODULES",
    "RuntimeBundle",
    "build_runtime_bundle",
    "join_key",
]


def engine_modules() -> tuple[str, ...]:
    """``mimsreg`` (the package holding the engine) and every module of ``mimsreg.engine``, found
    in its folder without importing them. A test runs the bundle alone on Python 3.9."""
    spec = importlib.util.find_spec("mimsreg.engine")
    folders = spec.submodule_search_locations if spec is not None else None
    if not folders:
        raise MimsregError("cannot build the runtime bundle: mimsreg.engine is not installed")
    root = Path(next(iter(folders)))
    names = {"mimsreg"}
    for path in root.rglob("*.py"):
        parts = ("mimsreg", "engine", *path.relative_to(root).with_suffix("").parts)
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return tuple(sorted(names))


# Everything the runtime imports: the engine package, derived from its folder.
RUNTIME_MODULES: tuple[str, ...] = engine_modules()

BUNDLE_FILE_NAME = "mimsreg-runtime.pyz"

MAIN_SOURCE = (
    b'"""mimsreg runtime bundle: python3 THIS_FILE --help"""\n'
    b"import sys\n"
    b"\n"
    b"from mimsreg.engine.job import main\n"
    b"\n"
    b"sys.exit(main())\n"
)

# 1980-01-01, the earliest time a zip entry can hold.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_UNIX = 3
_FILE_MODE = 0o100644


@dataclass(frozen=True)
class RuntimeBundle:
    """The bundle's bytes and where they live relative to a bucket prefix."""

    data: bytes
    sha256: str
    file_name: str

    def key(self, prefix: str) -> str:
        """The content-addressed key: ``<prefix>/runtime/sha256/<digest>/<file name>``."""
        return join_key(prefix, "runtime", "sha256", self.sha256, self.file_name)


def join_key(*parts: str) -> str:
    """An S3 key from parts, without empty parts or doubled slashes."""
    return "/".join(part.strip("/") for part in parts if part.strip("/"))


def _module_file(name: str) -> tuple[str, Path]:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        raise MimsregError(
            f"cannot build the runtime bundle: module {name!r} has no Python source in this "
            "installation (reinstall mimsreg)"
        )
    path = Path(spec.origin)
    parts = name.split(".")
    archive_name = "/".join(parts) + ("/__init__.py" if path.name == "__init__.py" else ".py")
    return archive_name, path


def data_files(package: str = "mimsreg.engine") -> list[tuple[str, bytes]]:
    """(archive name, bytes) of the package's ``data/*.json`` files; none without a data folder."""
    folder = resources.files(package).joinpath("data")
    if not folder.is_dir():
        return []
    prefix = package.replace(".", "/")
    entries = [item for item in folder.iterdir() if item.name.endswith(".json")]
    return [(f"{prefix}/data/{item.name}", item.read_bytes()) for item in entries]


def bundle_entries() -> list[tuple[str, bytes]]:
    """(archive name, bytes) of every file in the bundle, sorted by name."""
    entries = [("__main__.py", MAIN_SOURCE)]
    for name in RUNTIME_MODULES:
        archive_name, path = _module_file(name)
        entries.append((archive_name, path.read_bytes()))
    entries.extend(data_files())
    return sorted(entries)


def build_runtime_bundle() -> RuntimeBundle:
    """Zip the runtime modules; identical sources give identical bytes on every machine."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in bundle_entries():
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = _UNIX
            info.external_attr = _FILE_MODE << 16
            archive.writestr(info, data)
    data = buffer.getvalue()
    return RuntimeBundle(
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        file_name=BUNDLE_FILE_NAME,
    )
