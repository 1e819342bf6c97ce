"""Model folders: the manifest digest, the safety rules shared with archives, the entry point,
and the folder that still means "a folder holding model.tar.gz"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mimsreg.engine.errors import InvalidPackageError
from mimsreg.engine.package import FOLDER, PackageLimits, inspect_package, is_model_folder
from tests.support.folders import expected_digest, write_model_folder
from tests.support.helpers import write_model_archive


def test_digest_is_the_documented_manifest_digest(tmp_path: Path) -> None:
    """The digest equals one computed from the definition; every file is listed with its own."""
    folder = write_model_folder(tmp_path / "model", shards=5)
    progress: list[int] = []
    manifest = inspect_package(folder, progress=progress.append, workers=3)
    assert manifest.layout == FOLDER
    assert manifest.sha256 == expected_digest(folder)
    assert [f.path for f in manifest.files] == sorted(f.path for f in manifest.files)
    assert len(manifest.files) == 8
    assert manifest.entry_point == "code/inference.py"
    assert "config.json" in manifest.model_files
    assert "code/inference.py" not in manifest.model_files
    assert manifest.size == sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert progress[-1] == manifest.size
    # One worker or many: the same identity.
    assert inspect_package(folder, workers=1).sha256 == manifest.sha256


def test_digest_changes_with_a_byte_a_name_or_a_new_file(tmp_path: Path) -> None:
    folder = write_model_folder(tmp_path / "model")
    first = inspect_package(folder).sha256
    (folder / "config.json").write_text('{"layers": 3}\n')
    second = inspect_package(folder).sha256
    (folder / "config.json").rename(folder / "config2.json")
    third = inspect_package(folder).sha256
    (folder / "extra").write_bytes(b"")
    fourth = inspect_package(folder).sha256
    assert len({first, second, third, fourth}) == 4


def test_a_link_inside_counts_as_its_file(tmp_path: Path) -> None:
    folder = write_model_folder(tmp_path / "model")
    (folder / "alias.safetensors").symlink_to("weights/shard-00.safetensors")
    manifest = inspect_package(folder)
    alias = next(f for f in manifest.files if f.path == "alias.safetensors")
    shard = next(f for f in manifest.files if f.path == "weights/shard-00.safetensors")
    assert (alias.size, alias.sha256) == (shard.size, shard.sha256)
    assert manifest.sha256 == expected_digest(folder)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda f: (f / "abs").symlink_to("/etc/passwd"), "symlink to the absolute path"),
        (lambda f: (f / "out").symlink_to("../../outside"), "symlink leaving the folder"),
        (lambda f: (f / "dangling").symlink_to("nothing-here"), "dangling symlink"),
        (lambda f: (f / "dirlink").symlink_to("weights"), "symlink to a folder"),
        (lambda f: os.mkfifo(f / "pipe"), "FIFO"),
        (lambda f: (f / "bad\nname").write_text("x"), "control character"),
    ],
)
def test_hostile_folders_are_refused_naming_file_and_reason(
    tmp_path: Path, make: object, reason: str
) -> None:
    folder = write_model_folder(tmp_path / "model")
    (tmp_path / "outside").write_text("secret")
    make(folder)  # type: ignore[operator]
    with pytest.raises(InvalidPackageError, match=reason) as caught:
        inspect_package(folder)
    assert str(folder) in str(caught.value)


def test_budgets_of_package_limits_apply(tmp_path: Path) -> None:
    folder = write_model_folder(tmp_path / "model", shards=3, shard_bytes=1000)
    with pytest.raises(InvalidPackageError, match="members limit"):
        inspect_package(folder, limits=PackageLimits(max_members=4))
    with pytest.raises(InvalidPackageError, match="size limit"):
        inspect_package(folder, limits=PackageLimits(max_uncompressed_bytes=2000))
    with pytest.raises(InvalidPackageError, match="longer than 10 bytes"):
        inspect_package(folder, limits=PackageLimits(max_name_bytes=10))


def test_entry_point_must_be_under_code(tmp_path: Path) -> None:
    folder = write_model_folder(tmp_path / "model")
    assert inspect_package(folder, entry_point="inference.py").entry_point == "code/inference.py"
    with pytest.raises(InvalidPackageError, match=r"entry point 'code/serve.py' not found"):
        inspect_package(folder, entry_point="serve.py")


def test_a_folder_holding_model_tar_gz_keeps_its_meaning(tmp_path: Path) -> None:
    """A folder with model.tar.gz is the folder holding the archive, even beside code/."""
    holder = tmp_path / "input"
    write_model_archive(holder / "model.tar.gz")
    assert not is_model_folder(holder)
    assert inspect_package(holder).layout == "archive"
    (holder / "code").mkdir()
    assert not is_model_folder(holder)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "weights.bin").write_bytes(b"x")
    (plain / "more.bin").write_bytes(b"y")
    assert not is_model_folder(plain)
    with pytest.raises(InvalidPackageError, match="exactly one model archive"):
        inspect_package(plain)
