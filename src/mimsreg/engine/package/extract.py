"""Safe extraction: the same streaming pass, writing regular files and directories under one
folder and nothing anywhere else (for ``mimsreg check``)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

from mimsreg.engine.errors import BadInputError, InvalidPackageError
from mimsreg.engine.package.manifest import _manifest
from mimsreg.engine.package.members import PackageLimits, PackageManifest, PathLike
from mimsreg.engine.package.reader import CHUNK_SIZE, Inflater, _locate, _scan


class _Extractor:
    """Writes regular files and directories under ``root``, and nothing anywhere else."""

    def __init__(self, root: Path, label: str, limits: PackageLimits) -> None:
        self.root = root
        self.label = label
        self.limits = limits
        self.written = 0
        self.copied = 0  # of ``written``, the bytes of link members materialised as copies
        self._made: set[str] = set()  # folders made so far, relative to root
        self._file: Any = None
        self._name = ""
        self._mode = 0

    def _path(self, name: str) -> Path:
        target = Path(os.path.normpath(self.root.joinpath(*name.split("/"))))
        # Names were validated already; this is the last line of defence, on real paths.
        if os.path.commonpath([self.root, target]) != str(self.root) or target == self.root:
            raise InvalidPackageError(f"{self.label}: member {name!r}: path escapes the target")
        return target

    def _account(self, name: str, size: int) -> None:
        self.written += size
        limit = self.limits.max_uncompressed_bytes
        if self.written > limit:
            raise InvalidPackageError(
                f"{self.label}: member {name!r}: extraction passes the limit of {limit:,} "
                "bytes (PackageLimits.max_uncompressed_bytes)"
            )

    def _account_copy(self, name: str, size: int) -> None:
        # A link costs one header in the archive and a whole file on disk: copies may add at
        # most what the archive's own files hold (or the grace), never a multiple of it.
        self.copied += size
        files = self.written - self.copied
        allowed = max(files, self.limits.link_copy_grace_bytes)
        if self.copied > allowed:
            raise InvalidPackageError(
                f"{self.label}: member {name!r}: copying link members would write "
                f"{self.copied:,} bytes, more than the archive's {files:,} bytes of files "
                f"(links are extracted as copies; PackageLimits.link_copy_grace_bytes)"
            )

    def directory(self, name: str) -> None:
        self._make_dirs(name)

    def _make_dirs(self, folder: str) -> None:
        if not folder or folder in self._made:
            return
        # Only the folders not made yet: the deepest made ancestor is found walking up.
        missing = [folder]
        parent = folder.rpartition("/")[0]
        while parent and parent not in self._made:
            missing.append(parent)
            parent = parent.rpartition("/")[0]
        for relative in reversed(missing):
            current = self.root.joinpath(*relative.split("/"))
            try:
                current.mkdir(0o755)
            except FileExistsError:
                # Only directories this extraction made can be here; never go through anything else.
                if not stat.S_ISDIR(current.lstat().st_mode):
                    raise InvalidPackageError(
                        f"{self.label}: {str(current)!r} exists and is not a directory"
                    ) from None
            self._made.add(relative)

    def _create(self, name: str, mode: int) -> Any:
        self._make_dirs(name.rpartition("/")[0])
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        handle = os.open(self._path(name), flags | getattr(os, "O_CLOEXEC", 0), 0o600)
        self._mode = 0o755 if mode & 0o111 else 0o644  # never setuid, setgid or sticky
        return os.fdopen(handle, "wb")

    def begin_file(self, name: str, mode: int) -> None:
        self._file = self._create(name, mode)
        self._name = name

    def write(self, data: memoryview) -> None:
        self._account(self._name, len(data))
        self._file.write(data)

    def end_file(self) -> None:
        os.fchmod(self._file.fileno(), self._mode)
        self._file.close()
        self._file = None

    def hardlink(self, name: str, target: str, mode: int, size: int) -> None:
        self.copy(name, target, mode, size)

    def copy(self, name: str, target: str, mode: int, size: int) -> None:
        """Materialise a link as a copy of a file this extraction already wrote."""
        self._account(name, size)
        self._account_copy(name, size)
        with self._path(target).open("rb") as source:
            out = self._create(name, mode)
            try:
                shutil.copyfileobj(source, out, CHUNK_SIZE)
                os.fchmod(out.fileno(), self._mode)
            finally:
                out.close()

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def remove_all(self, including_root: bool) -> None:
        """Undo the extraction (it only ever made directories and regular files)."""
        if including_root:
            shutil.rmtree(self.root, ignore_errors=True)
            return
        for child in self.root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink()


def _prepare_destination(dest: Path) -> bool:
    """Create ``dest`` (or accept it empty); whether this call created it."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise BadInputError(f"{dest}: the extraction target exists and is not a directory")
    if dest.is_dir():
        if any(dest.iterdir()):
            raise BadInputError(f"{dest}: the extraction target is not empty")
        return False
    dest.mkdir(parents=True)
    return True


def extract_package(
    path: PathLike,
    dest: PathLike,
    *,
    limits: PackageLimits | None = None,
    inflater: Inflater | None = None,
) -> PackageManifest:
    """Validate a packaged model as :func:`inspect_package` does and extract it under ``dest``.

    One streaming pass. ``dest`` must not exist or be an empty directory. Only directories and
    regular files are written, all under ``dest``: files get mode 0644, or 0755 when the archive
    gives them an execute bit (never setuid, setgid or sticky bits); directories 0755; times are
    not restored. Links are never created: a hard link is materialised as a copy of the file it
    links to, and a symlink as a copy of the regular file it resolves to inside the archive;
    symlinks to directories, or that resolve to nothing, are skipped. Copies count against
    ``limits.max_uncompressed_bytes`` and may add at most as many bytes as the archive's files
    hold (``limits.link_copy_grace_bytes`` when they hold less): a small archive of many links to
    one file is refused, not copied into a disk's worth. ``inflater``: as for
    :func:`inspect_package`.

    On any refusal everything written is removed again (and ``dest`` too if this call created it),
    then :class:`~mimsreg.engine.errors.InvalidPackageError` is raised.
    """
    archive = _locate(path)  # before dest is touched: a missing archive creates nothing
    target = Path(dest)
    limits = limits or PackageLimits()
    created = _prepare_destination(target)
    extractor = _Extractor(target.resolve(), str(archive), limits)
    try:
        archive, digest, size, compression, tar = _scan(archive, limits, None, extractor, inflater)
        for member in tar.members:
            if member.type != "symlink":
                continue
            resolved = tar.resolve(member.name)
            if resolved is not None and resolved.type == "file":
                extractor.copy(member.name, resolved.name, tar.modes[resolved.name], resolved.size)
    except BaseException:
        extractor.abort()
        extractor.remove_all(including_root=created)
        raise
    return _manifest(archive, digest, size, compression, tar, None)
