"""Hypothesis: mutated bytes of a real archive only ever give a manifest or InvalidPackageError."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mimsreg import package
from mimsreg.errors import InvalidPackageError
from mimsreg.package import PackageManifest, extract_package, inspect_package
from tests.archives import (
    WEIGHTS,
    directory,
    file,
    gz,
    hardlink,
    make_tar,
    pax_record,
    raw_member,
    symlink,
)

BLOCK = 512


def _base_tar() -> bytes:
    entries = [
        file("model.pth", WEIGHTS[:700]),
        directory("code"),
        file("code/inference.py", b"def model_fn(d):\n    return d\n", mode=0o755),
        file("code/" + "long_" * 30 + ".py", b"x"),  # a pax path record
        symlink("code/model.pth", "../model.pth"),
        hardlink("copy.pth", "model.pth"),
    ]
    pax = raw_member("g", pax_record("comment", "fuzz"), typeflag=b"g")
    return pax + make_tar(entries)


BASE_TAR = _base_tar()
BASE_TAR_GZ = gz(BASE_TAR)
HEADERS = [
    i for i in range(0, len(BASE_TAR), BLOCK) if package._checksum_ok(BASE_TAR[i : i + BLOCK])
]

edits = st.lists(
    st.tuples(st.integers(min_value=0, max_value=len(BASE_TAR) - 1), st.integers(0, 255)),
    min_size=1,
    max_size=8,
)


def _fix_checksums(data: bytearray) -> None:
    """Recompute header checksums so mutations reach the header fields, not just the checksum."""
    for offset in HEADERS:
        header = data[offset : offset + BLOCK]
        if len(header) < BLOCK or not any(header):
            continue
        header[148:156] = b" " * 8
        data[offset + 148 : offset + 156] = b"%06o\x00 " % sum(header)


def _mutate(base: bytes, changes: list[tuple[int, int]], cut: int | None, fix: bool) -> bytes:
    data = bytearray(base)
    for position, value in changes:
        data[position % len(data)] = value
    if fix:
        _fix_checksums(data)
    if cut is not None:
        del data[cut % (len(data) + 1) :]
    return bytes(data)


def _outcome(path: Path) -> PackageManifest | InvalidPackageError:
    try:
        return inspect_package(path, entry_point=None)
    except InvalidPackageError as exc:
        return exc


def _check(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "model.tar.gz"
        path.write_bytes(data)
        outcome = _outcome(path)
        if isinstance(outcome, InvalidPackageError):
            assert str(outcome).startswith(f"{path}: ")
        else:
            assert outcome.size == len(data)
            assert all(not m.name.startswith(("/", "../")) for m in outcome.members)
        sandbox = root / "sandbox"
        sandbox.mkdir()
        try:
            extract_package(path, sandbox / "out")
        except InvalidPackageError:
            assert list(sandbox.iterdir()) == []
        else:
            assert not isinstance(outcome, InvalidPackageError)
            assert [p.name for p in sandbox.iterdir()] == ["out"]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(edits, st.one_of(st.none(), st.integers(min_value=0)), st.booleans())
def test_mutated_tar_gives_manifest_or_invalid_package(
    changes: list[tuple[int, int]], cut: int | None, fix: bool
) -> None:
    """Plain tar, bytes changed (checksums optionally repaired) and maybe truncated."""
    _check(_mutate(BASE_TAR, changes, cut, fix))


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(edits, st.one_of(st.none(), st.integers(min_value=0)))
def test_mutated_tar_gz_gives_manifest_or_invalid_package(
    changes: list[tuple[int, int]], cut: int | None
) -> None:
    """Compressed archive with bytes changed and maybe truncated."""
    _check(_mutate(BASE_TAR_GZ, changes, cut, False))


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(edits, st.booleans())
def test_gzip_of_mutated_tar_gives_manifest_or_invalid_package(
    changes: list[tuple[int, int]], fix: bool
) -> None:
    """Mutations inside the tar stream of a well-formed gzip file."""
    _check(gz(_mutate(BASE_TAR, changes, None, fix)))


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_give_manifest_or_invalid_package(data: bytes) -> None:
    """Any bytes at all."""
    _check(data)
