"""Hypothesis: mutated bytes of a real archive only ever give a manifest or InvalidPackageError."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mimsreg.engine.package import PackageManifest, extract_package, inspect_package
from mimsreg.errors import InvalidPackageError
from tests.support.archives import gz
from tests.support.fuzzing import BASE_TAR, BASE_TAR_GZ, edits
from tests.support.fuzzing import mutate as _mutate


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
