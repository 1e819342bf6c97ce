"""The manifest rules: the entry point under ``code/``, the model files, and
:func:`inspect_package`, which reads an archive once and applies them."""

from __future__ import annotations

import posixpath
from pathlib import Path

from mimsreg.engine.errors import BadInputError, InvalidPackageError
from mimsreg.engine.package.members import (
    _CODE_DIR,
    DEFAULT_ENTRY_POINT,
    PackageLimits,
    PackageManifest,
    PathLike,
    Progress,
    _HasEntryPoint,
    _in_code,
    _is_file,
)
from mimsreg.engine.package.reader import Inflater, _scan, _TarParser


def _entry_point_name(config: _HasEntryPoint | None, entry_point: str | None) -> str | None:
    script = entry_point
    if script is None and config is not None:
        script = config.inference_entry_point
    if script is None:
        return None
    if not script or posixpath.isabs(script) or ".." in script.split("/"):
        raise BadInputError(
            f"entry point {script!r} must be a relative path inside {_CODE_DIR}/ "
            f"(such as {DEFAULT_ENTRY_POINT!r})"
        )
    return posixpath.normpath(posixpath.join(_CODE_DIR, script))


def _manifest(
    archive: Path,
    digest: str,
    size: int,
    compression: str,
    tar: _TarParser,
    expected_entry: str | None,
) -> PackageManifest:
    members = tuple(tar.members)
    if expected_entry is not None:
        target = tar.resolve(expected_entry)
        if target is None or not _is_file(target):
            code = [m.name for m in members if _is_file(m) and _in_code(m.name)]
            listing = ", ".join(code) if code else "nothing"
            raise InvalidPackageError(
                f"{archive}: entry point {expected_entry!r} not found "
                f"(under {_CODE_DIR}/: {listing})"
            )
        entry: str | None = expected_entry
    else:
        default = f"{_CODE_DIR}/{DEFAULT_ENTRY_POINT}"
        found = tar.resolve(default)
        entry = default if found is not None and _is_file(found) else None
    model_files = tuple(m.name for m in members if _is_file(m) and not _in_code(m.name))
    return PackageManifest(
        path=archive,
        sha256=digest,
        size=size,
        compression=compression,
        members=members,
        uncompressed_size=tar.total,
        entry_point=entry,
        model_files=model_files,
    )


def inspect_package(
    path: PathLike,
    config: _HasEntryPoint | None = None,
    *,
    entry_point: str | None = None,
    limits: PackageLimits | None = None,
    progress: Progress = None,
    inflater: Inflater | None = None,
) -> PackageManifest:
    """Inspect a packaged model in one streaming pass, without extracting it.

    ``path`` is a ``.tar.gz`` or plain ``.tar`` file (told apart by their first bytes, not by the
    name), or a directory holding exactly one such file (how a processing job receives it).

    The entry point is ``code/<script>``, where the script is ``entry_point`` or else
    ``config.inference_entry_point`` (a :class:`~.spec.RegistrationSpec`, a configuration,
    anything with that attribute); when either is given and the archive lacks it, the archive is
    refused. With neither, the manifest reports ``code/inference.py`` if present, else ``None``.

    ``progress`` is called after each chunk with the number of file bytes consumed so far.
    ``inflater`` inflates the gzip stream (default: the standard library's zlib; the host passes
    zlib-ng's, ``mimsreg._inflate.host_inflater()``): the same checks and manifest either way.

    Raises :class:`~.errors.InvalidPackageError` naming the archive, the member and the
    reason for a missing, broken, incomplete or hostile archive, or one past ``limits``.
    """
    expected = _entry_point_name(config, entry_point)
    archive, digest, size, compression, tar = _scan(path, limits, progress, None, inflater)
    return _manifest(archive, digest, size, compression, tar, expected)
