"""Model folders (models registered uncompressed): the walk, the safety rules, the files hashed
in parallel, and the manifest digest that is the folder's identity.

The manifest is the compact JSON array ``[[path, size, sha256], ...]`` of every file, sorted by
path (``docs/package-inspection.md`` defines it byte for byte); the folder's digest is the
SHA-256 of that text. Files are hashed on a thread pool, one thread per core (``hashlib`` lets
go of the GIL while it hashes), each file read once through one buffer per thread, so memory
stays flat whatever the size.

Portable (runs in the processing job on Python 3.9): standard library only.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import posixpath
import stat
import threading
from collections.abc import Sequence
from pathlib import Path

from mimsreg.engine.errors import InvalidPackageError
from mimsreg.engine.inputs import special_file_kind
from mimsreg.engine.package.members import (
    _CODE_DIR,
    FolderFile,
    PackageLimits,
    PathLike,
    Progress,
)

__all__ = [
    "ARCHIVE_NAME",
    "MANIFEST_NAME",
    "FolderScan",
    "check_folder",
    "is_model_folder",
    "manifest_digest",
    "manifest_document",
    "scan_folder",
]

ARCHIVE_NAME = "model.tar.gz"  # a folder holding it is "a folder holding an archive", as before
MANIFEST_NAME = "manifest.json"  # the manifest document, stored beside a folder model's files
HASH_CHUNK = 1024 * 1024
_CONTROL = {chr(code) for code in range(32)} | {"\x7f"}


def is_model_folder(path: PathLike) -> bool:
    """A folder with ``code/`` and no ``model.tar.gz``: a model registered uncompressed.

    Any other folder keeps its older meaning: the folder holding one model archive.
    """
    location = Path(path)
    try:
        return (
            location.is_dir()
            and (location / _CODE_DIR).is_dir()
            and not (location / ARCHIVE_NAME).exists()
        )
    except OSError:
        return False


def manifest_document(files: Sequence[FolderFile]) -> bytes:
    """The canonical manifest: ``[[path, size, sha256], ...]`` sorted by path, compact, ASCII."""
    rows = [[f.path, f.size, f.sha256] for f in sorted(files, key=lambda f: f.path)]
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def manifest_digest(files: Sequence[FolderFile]) -> str:
    """The folder's identity: the SHA-256 of :func:`manifest_document`."""
    return hashlib.sha256(manifest_document(files)).hexdigest()


class FolderScan:
    """What one walk and one read of every file found."""

    def __init__(self, root: Path, files: tuple[FolderFile, ...], folders: int) -> None:
        self.root = root
        self.files = files
        self.folders = folders
        self.sha256 = manifest_digest(files)
        self.size = sum(f.size for f in files)


def _refuse(root: Path, name: str, reason: str) -> InvalidPackageError:
    return InvalidPackageError(f"{root}: {name!r} {reason}")


class _Walk:
    """The files under a root (links that stay inside followed to their file), with the rules."""

    def __init__(self, root: Path, limits: PackageLimits) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.limits = limits
        self.files: list[tuple[str, str, int]] = []  # (relative path, where to read it, size)
        self.folders = 0
        self.entries = 0
        self.total = 0

    def run(self) -> None:
        pending = [("", str(self.root))]
        while pending:
            relative, folder = pending.pop()
            try:
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError as exc:
                raise InvalidPackageError(
                    f"{self.root}: cannot list {relative or '.'!r}: {exc}"
                ) from exc
            for entry in entries:
                name = f"{relative}/{entry.name}" if relative else entry.name
                self._check_name(name)
                self.entries += 1
                if self.entries > self.limits.max_members:
                    raise InvalidPackageError(
                        f"{self.root}: more than {self.limits.max_members} files and folders "
                        "(the members limit)"
                    )
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    self.folders += 1
                    pending.append((name, entry.path))
                elif stat.S_ISREG(mode):
                    self._add(name, entry.path, entry.stat(follow_symlinks=False).st_size)
                elif stat.S_ISLNK(mode):
                    self._add(name, *self._link(name, entry.path))
                else:
                    kind = special_file_kind(entry.path) or "not a regular file"
                    raise _refuse(self.root, name, f"is {kind}: refused without reading it")

    def _check_name(self, name: str) -> None:
        try:
            encoded = name.encode("utf-8")
        except UnicodeEncodeError:
            raise _refuse(self.root, name, "is not valid UTF-8 (S3 keys are)") from None
        if _CONTROL.intersection(name):
            raise _refuse(self.root, name, "holds a control character")
        if len(encoded) > self.limits.max_name_bytes:
            raise _refuse(self.root, name, f"is longer than {self.limits.max_name_bytes} bytes")

    def _link(self, name: str, path: str) -> tuple[str, int]:
        target = os.fspath(Path(path).readlink())
        if Path(target).is_absolute():
            raise _refuse(self.root, name, f"is a symlink to the absolute path {target!r}")
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
        real = os.path.realpath(path)
        inside = real.startswith(self.real_root.rstrip(os.sep) + os.sep)
        if joined.split("/", 1)[0] == ".." or not inside:
            raise _refuse(self.root, name, f"is a symlink leaving the folder ({target!r})")
        try:
            status = Path(real).stat()
        except OSError:
            raise _refuse(self.root, name, f"is a dangling symlink ({target!r})") from None
        if stat.S_ISDIR(status.st_mode):
            raise _refuse(
                self.root, name, f"is a symlink to a folder ({target!r}): link files, not folders"
            )
        if not stat.S_ISREG(status.st_mode):
            kind = special_file_kind(real) or "not a regular file"
            raise _refuse(self.root, name, f"links to {target!r}, which is {kind}")
        return real, status.st_size

    def _add(self, name: str, path: str, size: int) -> None:
        self.total += size
        if self.total > self.limits.max_uncompressed_bytes:
            raise InvalidPackageError(
                f"{self.root}: its files hold more than {self.limits.max_uncompressed_bytes} "
                f"bytes (reached at {name!r}; the size limit)"
            )
        self.files.append((name, path, size))


class _Hasher:
    """Each file read once, on the thread that hashes it; one buffer per thread."""

    def __init__(self, root: Path, progress: Progress) -> None:
        self.root = root
        self.progress = progress
        self.local = threading.local()
        self.lock = threading.Lock()
        self.done = 0

    def __call__(self, item: tuple[str, str, int]) -> FolderFile:
        name, path, size = item
        buffer = getattr(self.local, "buffer", None)
        if buffer is None:
            buffer = self.local.buffer = bytearray(HASH_CHUNK)
        digest = hashlib.sha256()
        count = 0
        try:
            with Path(path).open("rb", buffering=0) as reader, memoryview(buffer) as view:
                while True:
                    length = reader.readinto(buffer)
                    if not length:
                        break
                    digest.update(view[:length])  # releases the GIL
                    count += length
                    self._advance(length)
        except OSError as exc:
            raise _refuse(self.root, name, f"cannot be read: {exc}") from exc
        if count != size:
            raise _refuse(self.root, name, f"changed while it was read ({size} then {count} bytes)")
        return FolderFile(name, size, digest.hexdigest())

    def _advance(self, length: int) -> None:
        if self.progress is None:
            return
        with self.lock:
            self.done += length
            self.progress(self.done)


def check_folder(path: PathLike, limits: PackageLimits | None = None) -> int:
    """The rules of :func:`scan_folder` without reading a byte (``mimsreg check`` runs a model
    folder where it is): refused as there; returns the number of files."""
    walk = _Walk(Path(path), limits or PackageLimits())
    walk.run()
    if not walk.files:
        raise InvalidPackageError(f"{path}: the model folder holds no file")
    return len(walk.files)


def scan_folder(
    path: PathLike,
    limits: PackageLimits | None = None,
    progress: Progress = None,
    workers: int | None = None,
) -> FolderScan:
    """Walk a model folder under the archive's rules and hash every file, in parallel.

    Refused (:class:`InvalidPackageError` naming the folder, the file and the reason): FIFOs,
    devices and sockets (never opened), absolute symlinks, symlinks leaving the folder, dangling
    or to a folder, names that are not UTF-8 or hold control characters, and more files, bytes
    or name bytes than ``limits`` allow. ``progress`` gets the running total of bytes hashed.
    """
    root = Path(path)
    walk = _Walk(root, limits or PackageLimits())
    walk.run()
    if not walk.files:
        raise InvalidPackageError(f"{root}: the model folder holds no file")
    # Largest first, so one big file does not start last and leave the other cores idle.
    todo = sorted(walk.files, key=lambda item: -item[2])
    hasher = _Hasher(root, progress)
    threads = max(1, min(workers or os.cpu_count() or 1, len(todo)))
    with concurrent.futures.ThreadPoolExecutor(threads, "mimsreg-hash") as pool:
        hashed = list(pool.map(hasher, todo))
    files = tuple(sorted(hashed, key=lambda f: f.path))
    return FolderScan(root, files, walk.folders)
