"""The stdlib's zlib and zlib-ng inflate the same archives into the same manifests and refusals."""

from __future__ import annotations

import hashlib
import os
import struct
import sys
import tempfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mimsreg import _inflate
from mimsreg.engine.package import (
    STDLIB_INFLATER,
    Inflater,
    PackageLimits,
    PackageManifest,
    extract_package,
    inspect_package,
    reader,
)
from mimsreg.errors import InvalidPackageError
from tests.support.archives import (
    HOSTILE,
    INFERENCE,
    WEIGHTS,
    Hostile,
    directory,
    file,
    gz,
    gzip_bomb,
    make_tar,
    symlink,
)
from tests.support.fuzzing import BASE_TAR_GZ, archive_bytes, edits
from tests.support.fuzzing import mutate as _mutate

zlib_ng = pytest.importorskip("zlib_ng.zlib_ng")
ZLIB_NG = Inflater("zlib-ng", zlib_ng.decompressobj, zlib_ng.error)
BOTH = [STDLIB_INFLATER, ZLIB_NG]


def _outcome(
    path: Path, inflater: Inflater, limits: PackageLimits | None = None, entry: str | None = None
) -> PackageManifest | str:
    try:
        return inspect_package(path, limits=limits, entry_point=entry, inflater=inflater)
    except InvalidPackageError as exc:
        return f"refused: {exc}"


def _good_archives() -> dict[str, bytes]:
    tar = make_tar(
        [
            file("model.pth", WEIGHTS),
            file("config.json", b'{"layers": 3}'),
            directory("code"),
            file("code/inference.py", INFERENCE),
            symlink("latest", "model.pth"),
        ]
    )
    compressible = make_tar([file("w.txt", b"weights 0.0 0.0\n" * 300_000), file("code/x.py", b"")])
    random = make_tar([file("w.bin", os.urandom(3 * reader.CHUNK_SIZE + 17))])
    return {
        "plain-gzip": gz(tar),
        "two-members-and-padding": gz(tar[:777]) + gz(tar[777:]) + bytes(3),
        "compressible-over-many-pieces": gz(compressible),
        "incompressible-over-many-chunks": gz(random),
        "level-1": zlib.compress(tar, 1, wbits=31),
        "plain-tar": tar,
    }


GOOD = _good_archives()


@pytest.mark.parametrize("name", list(GOOD))
def test_good_archives_give_identical_manifests(tmp_path: Path, name: str) -> None:
    """Both inflaters give equal manifests, and the same JSON, byte for byte."""
    path = tmp_path / "model.tar.gz"
    path.write_bytes(GOOD[name])
    stdlib, ng = (_outcome(path, inflater) for inflater in BOTH)
    assert isinstance(stdlib, PackageManifest), stdlib
    assert stdlib == ng
    assert isinstance(ng, PackageManifest)
    assert repr(stdlib.to_dict()) == repr(ng.to_dict())
    assert ng.sha256 == hashlib.sha256(GOOD[name]).hexdigest()


@pytest.mark.parametrize("case", HOSTILE, ids=[case.id for case in HOSTILE])
def test_hostile_archives_get_the_same_refusal(tmp_path: Path, case: Hostile) -> None:
    """Every archive of the hostile corpus is refused by both, with the same message."""
    path = tmp_path / "model.tar.gz"
    path.write_bytes(case.build())
    stdlib, ng = (_outcome(path, inflater, case.limits, case.entry_point) for inflater in BOTH)
    assert isinstance(ng, str), f"zlib-ng accepted {case.id}"
    assert ng == stdlib


def _trailer_damaged(data: bytes, offset_from_end: int) -> bytes:
    damaged = bytearray(data)
    damaged[-offset_from_end] ^= 0x01
    return bytes(damaged)


@pytest.mark.parametrize("inflater", BOTH, ids=lambda i: i.name.split()[0])
@pytest.mark.parametrize(
    ("where", "offset_from_end"), [("crc-32", 8), ("length (ISIZE)", 4)], ids=["crc", "isize"]
)
def test_gzip_trailer_is_checked(
    tmp_path: Path, inflater: Inflater, where: str, offset_from_end: int
) -> None:
    """A wrong CRC-32 or length in the gzip trailer is refused: the check is not skipped."""
    data = GOOD["plain-gzip"]
    crc, size = struct.unpack("<II", data[-8:])
    tar = make_tar_of(data)
    assert (crc, size) == (zlib.crc32(tar), len(tar))
    path = tmp_path / "model.tar.gz"
    path.write_bytes(_trailer_damaged(data, offset_from_end))
    with pytest.raises(InvalidPackageError, match=r"corrupt gzip stream") as caught:
        inspect_package(path, inflater=inflater)
    assert str(caught.value).startswith(f"{path}: ")


def make_tar_of(gzipped: bytes) -> bytes:
    return zlib.decompress(gzipped, wbits=31)


@pytest.mark.parametrize("inflater", BOTH, ids=lambda i: i.name.split()[0])
def test_flipped_bit_in_a_stored_block_is_refused(tmp_path: Path, inflater: Inflater) -> None:
    """Random weights are stored, not compressed: only the CRC can notice a flipped bit there."""
    data = bytearray(GOOD["incompressible-over-many-chunks"])
    data[len(data) // 2] ^= 0x10
    path = tmp_path / "model.tar.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidPackageError, match=r"corrupt gzip stream \(.*\)"):
        inspect_package(path, inflater=inflater)
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    with pytest.raises(InvalidPackageError, match=r"corrupt gzip stream"):
        extract_package(path, sandbox / "out", inflater=inflater)
    assert list(sandbox.iterdir()) == []


def test_gzip_bomb_is_refused_early_with_zlib_ng(tmp_path: Path) -> None:
    """zlib-ng is asked for bounded pieces too: the bomb is stopped within the first chunk."""
    path = tmp_path / "bomb.tar.gz"
    path.write_bytes(gzip_bomb(8))
    seen: list[int] = []
    with pytest.raises(InvalidPackageError, match=r"compression ratio over 200:1"):
        inspect_package(path, progress=seen.append, inflater=ZLIB_NG)
    assert max(seen, default=0) <= reader.CHUNK_SIZE


def test_extraction_writes_the_same_files(tmp_path: Path) -> None:
    """extract_package with zlib-ng writes what the stdlib path writes."""
    path = tmp_path / "model.tar.gz"
    path.write_bytes(GOOD["plain-gzip"])
    trees = []
    for inflater in BOTH:
        dest = tmp_path / inflater.name.split()[0]
        extract_package(path, dest, inflater=inflater)
        trees.append({p.relative_to(dest): p.read_bytes() for p in dest.rglob("*") if p.is_file()})
    assert trees[0] == trees[1]
    assert trees[1][Path("code/inference.py")] == INFERENCE


def _same_outcome(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tar.gz"
        path.write_bytes(data)
        stdlib, ng = (_outcome(path, inflater) for inflater in BOTH)
    assert stdlib == ng


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(edits, st.one_of(st.none(), st.integers(min_value=0)))
def test_mutated_gzip_gets_the_same_outcome(
    changes: list[tuple[int, int]], cut: int | None
) -> None:
    """Hypothesis: bytes of a real .tar.gz changed or cut give both the same manifest or refusal."""
    _same_outcome(_mutate(BASE_TAR_GZ, changes, cut, False))


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(archive_bytes())
def test_mutated_archives_get_the_same_outcome(data: bytes) -> None:
    """Hypothesis: the fuzz corpus's archives (gzip of mutated tars too) give the same outcome."""
    _same_outcome(data)


# -- the host's choice -----------------------------------------------------------------------------


def test_host_inflater_is_zlib_ng_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host inflates with zlib-ng; MIMSREG_NO_ZLIB_NG=1 turns it off."""
    monkeypatch.delenv(_inflate.DISABLE_ENV, raising=False)
    chosen = _inflate.host_inflater()
    assert chosen.name.startswith("zlib-ng ")
    assert chosen.decompressobj is zlib_ng.decompressobj
    assert chosen.error is zlib_ng.error
    monkeypatch.setenv(_inflate.DISABLE_ENV, "1")
    assert _inflate.host_inflater() is STDLIB_INFLATER


def test_host_inflater_falls_back_without_zlib_ng(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without zlib-ng importable, the host uses the stdlib's zlib (and says so by name)."""
    monkeypatch.delenv(_inflate.DISABLE_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "zlib_ng", None)
    _inflate._zlib_ng.cache_clear()
    try:
        assert _inflate.host_inflater() is STDLIB_INFLATER
        assert STDLIB_INFLATER.name == f"zlib {zlib.ZLIB_RUNTIME_VERSION}"
    finally:
        _inflate._zlib_ng.cache_clear()
