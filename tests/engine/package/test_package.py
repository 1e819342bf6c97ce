"""Package inspection and safe extraction: good archives pass, every hostile one is refused."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import tarfile
import threading
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from mimsreg.config import ModelRegistrationConfig
from mimsreg.engine.package import (
    PackageLimits,
    PackageManifest,
    PackageMember,
    extract_package,
    inspect_package,
    reader,
)
from mimsreg.engine.package import extract as extract_module
from mimsreg.errors import BadInputError, InvalidPackageError
from tests.conftest import EXAMPLE_CONFIG, REPO_ROOT
from tests.support.archives import (
    BLOCK,
    END,
    HOSTILE,
    INFERENCE,
    WEIGHTS,
    Hostile,
    base256,
    directory,
    file,
    gz,
    gzip_bomb,
    hardlink,
    make_tar,
    pax_record,
    raw_header,
    raw_member,
    symlink,
)

GOOD_NAMES = ["model.pth", "config.json", "code", "code/inference.py", "code/requirements.txt"]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def good_entries() -> list[tuple[tarfile.TarInfo, bytes]]:
    return [
        file("model.pth", WEIGHTS),
        file("config.json", b'{"layers": 3}'),
        directory("code"),
        file("code/inference.py", INFERENCE),
        file("code/requirements.txt", b"numpy\n"),
    ]


@pytest.fixture
def good_tar_gz(tmp_path: Path) -> Path:
    return write(tmp_path / "model.tar.gz", gz(make_tar(good_entries())))


# -- good archives ---------------------------------------------------------------------------------


def test_tar_gz_manifest(good_tar_gz: Path) -> None:
    """A SageMaker-style model.tar.gz: digest of the file's bytes, members, entry, model files."""
    manifest = inspect_package(good_tar_gz)
    data = good_tar_gz.read_bytes()
    assert manifest.sha256 == hashlib.sha256(data).hexdigest()
    assert manifest.size == len(data)
    assert manifest.path == good_tar_gz
    assert manifest.compression == "gzip"
    assert [m.name for m in manifest.members] == GOOD_NAMES
    assert manifest.members[0] == PackageMember("model.pth", len(WEIGHTS), "file")
    assert manifest.members[2].type == "dir"
    assert manifest.uncompressed_size == len(make_tar(good_entries()))
    assert manifest.entry_point == "code/inference.py"
    assert manifest.model_files == ("model.pth", "config.json")
    assert manifest.code_files == ("code/inference.py", "code/requirements.txt")
    assert manifest.member("config.json") == PackageMember("config.json", 13, "file")
    assert manifest.member("nope") is None


def test_plain_tar_is_told_by_its_bytes_not_its_name(tmp_path: Path) -> None:
    """An uncompressed tar named .tar.gz is read as tar; the digest covers the record padding."""
    data = make_tar(good_entries())
    assert len(data) % 10240 == 0  # tarfile pads with zeros after the end-of-archive marker
    path = write(tmp_path / "model.tar.gz", data)
    manifest = inspect_package(path)
    assert manifest.compression == "none"
    assert manifest.sha256 == hashlib.sha256(data).hexdigest()
    assert manifest.uncompressed_size == len(data)
    assert [m.name for m in manifest.members] == GOOD_NAMES


def test_directory_holding_one_archive(tmp_path: Path, good_tar_gz: Path) -> None:
    """A processing job receives the model as a directory holding exactly the archive."""
    folder = tmp_path / "input" / "model"
    folder.mkdir(parents=True)
    archive = folder / "model.tar.gz"
    archive.write_bytes(good_tar_gz.read_bytes())
    manifest = inspect_package(folder)
    assert manifest.path == archive
    assert manifest.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()


def test_directory_must_hold_exactly_one_archive(tmp_path: Path) -> None:
    """An empty directory, or one with several entries, is refused naming what it holds."""
    folder = tmp_path / "model"
    folder.mkdir()
    with pytest.raises(InvalidPackageError, match="the directory is empty"):
        inspect_package(folder)
    (folder / "a.tar.gz").write_bytes(b"")
    (folder / "b.tar.gz").write_bytes(b"")
    with pytest.raises(InvalidPackageError, match=r"holds 2 entries \(a\.tar\.gz, b\.tar\.gz\)"):
        inspect_package(folder)
    only_dir = tmp_path / "nested"
    (only_dir / "sub").mkdir(parents=True)
    with pytest.raises(InvalidPackageError, match="holds only the directory 'sub'"):
        inspect_package(only_dir)


def test_missing_file_is_named(tmp_path: Path) -> None:
    """A path that does not exist is bad input naming the path."""
    missing = tmp_path / "nope.tar.gz"
    with pytest.raises(InvalidPackageError, match=r"nope\.tar\.gz: no such file or directory"):
        inspect_package(missing)


def test_unreadable_file_is_named() -> None:
    """A read error (EIO here) is an InvalidPackageError naming the path, not an OSError."""
    with pytest.raises(InvalidPackageError, match=r"^/proc/self/mem: cannot read"):
        inspect_package("/proc/self/mem")


def test_leading_dot_slash_and_root_entry(tmp_path: Path) -> None:
    """`tar czf m.tar.gz -C dir .` writes './' and './name': names are normalised."""
    entries = [directory("./"), file("./model.pth", WEIGHTS), file("./code/inference.py", b"x")]
    manifest = inspect_package(write(tmp_path / "m.tar.gz", gz(make_tar(entries))))
    assert [m.name for m in manifest.members] == ["model.pth", "code/inference.py"]
    assert manifest.entry_point == "code/inference.py"


@pytest.mark.parametrize("tar_format", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_long_names_and_link_targets(tmp_path: Path, tar_format: int) -> None:
    """Names and link targets past 100 characters (pax records or GNU long-name headers)."""
    deep = "code/" + "/".join(["package"] * 20) + "/module.py"
    link = "code/" + "l" * 150
    entries = [file(deep, b"x"), symlink(link, deep.split("/", 1)[1]), file("w", b"y")]
    manifest = inspect_package(write(tmp_path / "m.tar", make_tar(entries, tar_format)))
    assert manifest.members[0].name == deep
    assert manifest.members[1] == PackageMember(link, 0, "symlink", deep.split("/", 1)[1])


def test_ustar_prefix_field(tmp_path: Path) -> None:
    """POSIX ustar splits long names into prefix and name."""
    data = raw_member("module.py", b"x", prefix=b"code/lib") + END
    manifest = inspect_package(write(tmp_path / "m.tar", data))
    assert [m.name for m in manifest.members] == ["code/lib/module.py"]


def test_base256_size_and_pax_size(tmp_path: Path) -> None:
    """Sizes of 8 GiB and more are written in GNU base-256 or as a pax 'size' record."""
    base = raw_header("a.bin", size_field=base256(3)) + b"abc" + bytes(BLOCK - 3)
    pax = raw_member("p", pax_record("size", "2"), typeflag=b"x")
    pax += raw_header("b.bin", size=0) + b"de" + bytes(BLOCK - 2)
    manifest = inspect_package(write(tmp_path / "m.tar", base + pax + END))
    assert [(m.name, m.size) for m in manifest.members] == [("a.bin", 3), ("b.bin", 2)]
    assert manifest.model_files == ("a.bin", "b.bin")


def test_links_that_stay_inside_are_accepted(tmp_path: Path) -> None:
    """Symlinks and hard links whose targets stay in the archive are listed with their targets."""
    entries = [
        *good_entries(),
        symlink("code/model.pth", "../model.pth"),
        symlink("latest", "./model.pth"),
        hardlink("model-copy.pth", "./model.pth"),
        hardlink("model-copy2.pth", "model-copy.pth"),
    ]
    manifest = inspect_package(write(tmp_path / "m.tar.gz", gz(make_tar(entries))))
    kinds = {m.name: (m.type, m.link_target) for m in manifest.members}
    assert kinds["code/model.pth"] == ("symlink", "../model.pth")
    assert kinds["model-copy.pth"] == ("hardlink", "model.pth")
    assert kinds["model-copy2.pth"] == ("hardlink", "model.pth")
    assert "model-copy.pth" in manifest.model_files
    assert "latest" not in manifest.model_files


def test_entry_point_reached_through_a_symlink(tmp_path: Path) -> None:
    """The entry point may be a symlink to a file inside the archive."""
    entries = [
        file("src/serve.py", b"x"),
        directory("code"),
        symlink("code/serve.py", "../src/serve.py"),
    ]
    manifest = inspect_package(write(tmp_path / "m.tar", make_tar(entries)), entry_point="serve.py")
    assert manifest.entry_point == "code/serve.py"


def test_symlinked_code_directory(tmp_path: Path) -> None:
    """`code` itself may be a symlink to a directory that holds the entry point."""
    entries = [file("src/inference.py", b"x"), symlink("code", "src")]
    manifest = inspect_package(write(tmp_path / "m.tar", make_tar(entries)))
    assert manifest.entry_point == "code/inference.py"
    assert manifest.model_files == ("src/inference.py",)


def test_symlink_loop_is_not_an_entry_point(tmp_path: Path) -> None:
    """A symlink loop is harmless to list, but does not count as the entry point."""
    entries = [file("w", b"1"), directory("code"), symlink("code/a", "b"), symlink("code/b", "a")]
    manifest = inspect_package(write(tmp_path / "m.tar", make_tar(entries)))
    assert manifest.entry_point is None
    with pytest.raises(InvalidPackageError, match=r"'code/a' not found \(under code/: nothing\)"):
        inspect_package(tmp_path / "m.tar", entry_point="a")


def test_entry_point_from_config_and_spec(good_tar_gz: Path) -> None:
    """A configuration, its RegistrationSpec, or any object with inference_entry_point works."""
    config = ModelRegistrationConfig.from_file(EXAMPLE_CONFIG)
    assert inspect_package(good_tar_gz, config).entry_point == "code/inference.py"
    assert inspect_package(good_tar_gz, config.to_spec()).entry_point == "code/inference.py"
    other = SimpleNamespace(inference_entry_point="requirements.txt")
    assert inspect_package(good_tar_gz, other).entry_point == "code/requirements.txt"
    # entry_point= wins over the configuration.
    manifest = inspect_package(good_tar_gz, other, entry_point="inference.py")
    assert manifest.entry_point == "code/inference.py"


@pytest.mark.parametrize("bad", ["", "/abs.py", "../up.py", "a/../../b.py"])
def test_bad_entry_point_argument(good_tar_gz: Path, bad: str) -> None:
    """An entry point that is not a relative path inside code/ is bad input, before any read."""
    with pytest.raises(BadInputError, match="must be a relative path inside code/"):
        inspect_package(good_tar_gz, entry_point=bad)


def test_no_entry_point_without_config(tmp_path: Path) -> None:
    """Without a config, a package lacking code/inference.py is fine and reports none."""
    path = write(tmp_path / "m.tar.gz", gz(make_tar([file("model.pth", WEIGHTS)])))
    assert inspect_package(path).entry_point is None


def test_concatenated_gzip_members_and_zero_padding(tmp_path: Path) -> None:
    """`cat a.gz b.gz` is one gzip stream; zero padding after it (tape blocks) is fine."""
    tar = make_tar(good_entries())
    data = gz(tar[:1000]) + gz(tar[1000:5000]) + gz(tar[5000:]) + bytes(4096)
    manifest = inspect_package(write(tmp_path / "m.tar.gz", data))
    assert [m.name for m in manifest.members] == GOOD_NAMES
    assert manifest.sha256 == hashlib.sha256(data).hexdigest()
    assert manifest.size == len(data)


def test_pax_records_padded_with_nuls(tmp_path: Path) -> None:
    """Some writers pad the pax body with NULs after the last record."""
    body = pax_record("path", "code/inference.py") + bytes(20)
    data = raw_member("p", body, typeflag=b"x") + raw_member("x", b"1") + END
    manifest = inspect_package(write(tmp_path / "m.tar", data))
    assert manifest.entry_point == "code/inference.py"


def test_symlink_chains_and_hardlinked_entry_point(tmp_path: Path) -> None:
    """Entry points reached through a chain of symlinks, or being a hard link, are found."""
    entries = [
        file("src/serve.py", b"x"),
        directory("code"),
        symlink("code/b.py", "../src/serve.py"),
        symlink("code/a.py", "b.py"),  # a -> b -> src/serve.py
        hardlink("code/h.py", "src/serve.py"),
        symlink("code/via-h.py", "h.py"),
    ]
    path = write(tmp_path / "m.tar", make_tar(entries))
    for script in ("a.py", "b.py", "h.py", "via-h.py"):
        assert inspect_package(path, entry_point=script).entry_point == f"code/{script}"
    dest = tmp_path / "out"
    extract_package(path, dest)
    for script in ("a.py", "b.py", "h.py", "via-h.py"):
        assert (dest / "code" / script).read_bytes() == b"x"


def test_unreadable_path_names(tmp_path: Path) -> None:
    """A path the system cannot even look up (too long) is an InvalidPackageError."""
    with pytest.raises(InvalidPackageError, match="cannot read"):
        inspect_package(tmp_path / ("x" * 5000))


def test_git_archive_global_header_is_fine(tmp_path: Path) -> None:
    """`git archive` writes a global pax header with a comment: harmless, accepted."""
    head = raw_member("pax_global_header", pax_record("comment", "abc123"), typeflag=b"g")
    manifest = inspect_package(write(tmp_path / "m.tar", head + raw_member("a", b"1") + END))
    assert [m.name for m in manifest.members] == ["a"]


def test_old_signed_checksum_is_accepted(tmp_path: Path) -> None:
    """Some old tars summed signed chars for the header checksum."""
    header = bytearray(raw_header(b"caf\xc3\xa9.bin", size=1))
    header[148:156] = b" " * 8  # the checksum counts its own field as spaces
    signed = sum(b - 256 if b > 127 else b for b in header)
    header[148:156] = b"%06o\x00 " % signed
    manifest = inspect_package(write(tmp_path / "m.tar", bytes(header) + b"x" + bytes(511) + END))
    assert manifest.members[0].name == "café.bin"


def test_multi_chunk_archive(tmp_path: Path) -> None:
    """Archives larger than a read chunk: headers and gzip members straddle chunk boundaries."""
    big = os.urandom(3 * reader.CHUNK_SIZE + 1234)
    entries = [file("weights.bin", big), *good_entries()[1:]]
    path = write(tmp_path / "m.tar.gz", gz(make_tar(entries)))
    seen: list[int] = []
    manifest = inspect_package(path, progress=seen.append)
    assert manifest.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest.members[0].size == len(big)
    assert seen == sorted(seen)
    assert seen[-1] == path.stat().st_size
    assert len(seen) == -(-path.stat().st_size // reader.CHUNK_SIZE)


@pytest.mark.parametrize("chunk", [1, 7, 511, 4096])
def test_tiny_chunks_give_the_same_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Every boundary (gzip magic, tar header, padding) split across reads is handled."""
    tar = make_tar([*good_entries(), symlink("latest", "model.pth")])
    data = gz(tar[:777]) + gz(tar[777:]) + bytes(3)
    path = write(tmp_path / "m.tar.gz", data)
    plain = write(tmp_path / "m.tar", tar)
    expected, expected_plain = inspect_package(path), inspect_package(plain)
    monkeypatch.setattr(reader, "CHUNK_SIZE", chunk)
    assert inspect_package(path) == expected
    assert inspect_package(plain) == expected_plain


def test_large_compressible_member(tmp_path: Path) -> None:
    """Output pieces fill up (ratio > 4) and the inflater is drained across them."""
    text = b"weights 0.0 0.0 0.0\n" * 200_000
    entries = [file("weights.txt", text), file("code/inference.py", b"x")]
    path = write(tmp_path / "m.tar.gz", gz(make_tar(entries)))
    manifest = inspect_package(path)
    assert manifest.members[0].size == len(text)
    assert manifest.uncompressed_size >= len(text)


def test_to_dict_is_json(good_tar_gz: Path) -> None:
    """The JSON summary carries the digest, size, members and entry point."""
    data = inspect_package(good_tar_gz).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["sha256"] == hashlib.sha256(good_tar_gz.read_bytes()).hexdigest()
    assert data["members"][3] == {
        "name": "code/inference.py",
        "size": len(INFERENCE),
        "type": "file",
        "link_target": None,
    }


def test_reading_from_a_pipe(tmp_path: Path, good_tar_gz: Path) -> None:
    """A named pipe (as `<(curl ...)` gives) is read as a stream like any file."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    data = good_tar_gz.read_bytes()

    def feed() -> None:
        with fifo.open("wb") as out:
            out.write(data)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    manifest = inspect_package(fifo)
    writer.join(timeout=10)
    assert manifest.sha256 == hashlib.sha256(data).hexdigest()
    assert manifest.size == len(data)


# -- hostile and broken archives -------------------------------------------------------------------


@pytest.mark.parametrize("case", HOSTILE, ids=[case.id for case in HOSTILE])
def test_hostile_archive_is_refused(tmp_path: Path, case: Hostile) -> None:
    """Each archive of the corpus is refused, naming the archive and the reason."""
    path = write(tmp_path / "model.tar.gz", case.build())
    with pytest.raises(InvalidPackageError, match=case.reason) as caught:
        inspect_package(path, limits=case.limits, entry_point=case.entry_point)
    assert str(caught.value).startswith(f"{path}: ")


def test_corpus_is_large_and_covers_every_reason() -> None:
    """At least 15 hostile archives, spread over every refusal reason in the brief."""
    assert len(HOSTILE) >= 15
    reasons = " ".join(case.reason for case in HOSTILE)
    for needle in (
        "absolute path",
        "path traversal",
        "symlink target",
        "hard link",
        "device file",
        "FIFO",
        "duplicate member name",
        "neither gzip nor tar",
        "truncated",
        "empty archive",
        "trailing data",
        "more than 3 members",
        "uncompressed size",
        "compression ratio",
        "entry point",
    ):
        assert needle in reasons


# The entry point is a check of inspect_package; extraction takes none.
EXTRACTABLE = [case for case in HOSTILE if case.entry_point is None]


@pytest.mark.parametrize("case", EXTRACTABLE, ids=[case.id for case in EXTRACTABLE])
def test_extract_never_writes_outside_dest(tmp_path: Path, case: Hostile) -> None:
    """Extraction refuses the same archives and leaves nothing behind, inside or outside dest."""
    source = write(tmp_path / "model.tar.gz", case.build())
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    dest = sandbox / "out"
    with pytest.raises(InvalidPackageError, match=case.reason):
        extract_package(source, dest, limits=case.limits)
    assert list(sandbox.iterdir()) == []
    assert not Path("/tmp/mimsreg-escape").exists()


def test_gzip_bomb_is_refused_early(tmp_path: Path) -> None:
    """8 GiB of zeros in ~8 MB: refused after the first read chunk, not after inflating it all."""
    path = write(tmp_path / "bomb.tar.gz", gzip_bomb(8))
    assert path.stat().st_size > 4 * reader.CHUNK_SIZE
    seen: list[int] = []
    with pytest.raises(InvalidPackageError, match=r"compression ratio over 200:1") as caught:
        inspect_package(path, progress=seen.append)
    assert max(seen, default=0) <= reader.CHUNK_SIZE
    inflated = int(str(caught.value).split("(")[1].split(" bytes inflated")[0].replace(",", ""))
    assert inflated < 2 * PackageLimits().ratio_grace_bytes


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        (PackageLimits(), r"compression ratio over 200:1"),
        (
            PackageLimits(max_uncompressed_bytes=128 * 1024**2, max_compression_ratio=1e6),
            r"uncompressed size passes the limit of 134,217,728 bytes",
        ),
    ],
)
def test_endless_gzip_stream_is_refused(tmp_path: Path, limits: PackageLimits, reason: str) -> None:
    """A tar of an all-zero file, gzipped on the fly into a pipe with no end: refused early."""
    fifo = tmp_path / "endless.tar.gz"
    os.mkfifo(fifo)
    written = [0]
    declared = min(32 * 1024**3, limits.max_uncompressed_bytes // 2)  # within the limit

    def stream() -> None:
        compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
        header = raw_header("weights.bin", size_field=base256(declared))
        zeros = bytes(1024**2)
        try:
            with fifo.open("wb") as out:
                out.write(compressor.compress(header))
                for _ in range(1024**2):  # 1 TiB, if nobody stopped reading
                    chunk = compressor.compress(zeros)
                    out.write(chunk)
                    written[0] += len(chunk)
        except BrokenPipeError:
            return

    writer = threading.Thread(target=stream, daemon=True)
    writer.start()
    with pytest.raises(InvalidPackageError, match=reason):
        inspect_package(fifo, limits=limits)
    writer.join(timeout=60)
    assert not writer.is_alive()
    assert written[0] < 2 * 1024**2  # a few hundred kB of a stream that would never end


def test_limits_are_configurable(tmp_path: Path) -> None:
    """A low ratio limit refuses an ordinary compressible archive once past the grace bytes."""
    text = b"0.0 " * 300_000
    path = write(tmp_path / "m.tar.gz", gz(make_tar([file("w.txt", text)])))
    inspect_package(path)
    tight = PackageLimits(max_compression_ratio=2.0, ratio_grace_bytes=64 * 1024)
    with pytest.raises(InvalidPackageError, match=r"compression ratio over 2:1"):
        inspect_package(path, limits=tight)


# -- extraction ------------------------------------------------------------------------------------


def test_extract_good_archive(tmp_path: Path) -> None:
    """Files and directories land under dest with their content and safe permissions."""
    entries = [
        *good_entries(),
        file("bin/run.sh", b"#!/bin/sh\n", mode=0o4755),  # setuid: must not survive
        file("secret.txt", b"s", mode=0o600),
        symlink("code/weights.pth", "../model.pth"),
        symlink("code/lib", "../bin"),  # a directory symlink: skipped
        symlink("dangling", "nowhere"),  # resolves to nothing: skipped
        hardlink("model-copy.pth", "model.pth"),
        hardlink("model-copy2.pth", "model-copy.pth"),
    ]
    source = write(tmp_path / "m.tar.gz", gz(make_tar(entries)))
    dest = tmp_path / "out"
    manifest = extract_package(source, dest)
    assert manifest.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert (dest / "model.pth").read_bytes() == WEIGHTS
    assert (dest / "code" / "inference.py").read_bytes() == INFERENCE
    assert (dest / "code" / "weights.pth").read_bytes() == WEIGHTS
    assert (dest / "model-copy.pth").read_bytes() == WEIGHTS
    assert (dest / "model-copy2.pth").read_bytes() == WEIGHTS
    assert not (dest / "code" / "lib").exists()
    assert not (dest / "dangling").exists()
    for path in dest.rglob("*"):
        assert not path.is_symlink()
    assert stat.S_IMODE((dest / "bin" / "run.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "secret.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((dest / "model.pth").stat().st_mode) == 0o644
    assert stat.S_IMODE((dest / "code").stat().st_mode) == 0o755
    written = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert written == sorted(
        [
            "bin/run.sh",
            "code/inference.py",
            "code/requirements.txt",
            "code/weights.pth",
            "config.json",
            "model-copy.pth",
            "model-copy2.pth",
            "model.pth",
            "secret.txt",
        ]
    )


def test_extract_into_existing_empty_directory(tmp_path: Path, good_tar_gz: Path) -> None:
    """An empty existing dest is used; it is emptied again (not removed) on refusal."""
    dest = tmp_path / "out"
    dest.mkdir()
    extract_package(good_tar_gz, dest)
    assert (dest / "model.pth").read_bytes() == WEIGHTS
    other = tmp_path / "other"
    other.mkdir()
    broken = gz(make_tar([*good_entries(), file("../escape", b"x")]))
    with pytest.raises(InvalidPackageError, match="path traversal"):
        extract_package(write(tmp_path / "bad.tar.gz", broken), other)
    assert other.is_dir()
    assert list(other.iterdir()) == []


def test_extract_refuses_a_non_empty_or_non_directory_dest(
    tmp_path: Path, good_tar_gz: Path
) -> None:
    """dest must be new or empty, so nothing there can redirect a write."""
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep").write_text("x")
    with pytest.raises(BadInputError, match="is not empty"):
        extract_package(good_tar_gz, busy)
    plain = write(tmp_path / "plain", b"x")
    with pytest.raises(BadInputError, match="not a directory"):
        extract_package(good_tar_gz, plain)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(BadInputError, match="not a directory"):
        extract_package(good_tar_gz, link)
    assert (busy / "keep").read_text() == "x"


def test_extract_counts_link_copies_against_the_limit(tmp_path: Path) -> None:
    """Hard links copied many times cannot multiply a small archive into a disk-filling one."""
    entries = [file("w.bin", bytes(4096)), *[hardlink(f"c{i}", "w.bin") for i in range(20)]]
    source = write(tmp_path / "m.tar.gz", gz(make_tar(entries)))
    limits = PackageLimits(max_uncompressed_bytes=40_000)
    inspect_package(source, limits=limits)  # the archive itself is small
    with pytest.raises(InvalidPackageError, match="extraction passes the limit"):
        extract_package(source, tmp_path / "out", limits=limits)
    assert not (tmp_path / "out").exists()


def test_extract_symlink_copies_count_too(tmp_path: Path) -> None:
    """Symlinks materialised as copies also count against the limit."""
    entries = [file("w.bin", bytes(4096)), *[symlink(f"s{i}", "w.bin") for i in range(20)]]
    source = write(tmp_path / "m.tar", make_tar(entries))
    with pytest.raises(InvalidPackageError, match="extraction passes the limit"):
        extract_package(
            source, tmp_path / "out", limits=PackageLimits(max_uncompressed_bytes=40_000)
        )


def test_extract_defends_against_a_planted_file(tmp_path: Path) -> None:
    """Should a file appear where a directory is needed, extraction stops rather than follow it."""
    extractor = extract_module._Extractor(tmp_path, "m.tar.gz", PackageLimits())
    (tmp_path / "code").write_text("planted")
    with pytest.raises(InvalidPackageError, match="exists and is not a directory"):
        extractor.directory("code/sub")
    with pytest.raises(InvalidPackageError, match="path escapes the target"):
        extractor._path("x/../../escape")


def test_manifest_is_a_plain_value(good_tar_gz: Path) -> None:
    """Two inspections of the same file give equal manifests (frozen dataclasses)."""
    first, second = inspect_package(good_tar_gz), inspect_package(str(good_tar_gz))
    assert first == second
    assert isinstance(first, PackageManifest)


# -- the processing-job interpreter ----------------------------------------------------------------


def test_inspect_on_python_39(python39: str, tmp_path: Path) -> None:
    """inspect_package runs on Python 3.9 with only the standard library, with the same result."""
    good = write(tmp_path / "model.tar.gz", gz(make_tar(good_entries())))
    hostile = write(tmp_path / "evil.tar.gz", gz(make_tar([file("../escape", b"x")])))
    code = (
        "import json, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from mimsreg.engine.package import inspect_package, extract_package\n"
        "from mimsreg.errors import InvalidPackageError\n"
        "manifest = inspect_package(sys.argv[2], entry_point='inference.py')\n"
        "extract_package(sys.argv[2], sys.argv[4])\n"
        "try:\n"
        "    inspect_package(sys.argv[3])\n"
        "except InvalidPackageError as exc:\n"
        "    refused = str(exc)\n"
        "print(json.dumps({'manifest': manifest.to_dict(), 'refused': refused,\n"
        "                  'version': list(sys.version_info[:2]),\n"
        "                  'pydantic': 'pydantic' in sys.modules}))\n"
    )
    src = str(REPO_ROOT / "src")
    result = subprocess.run(
        [python39, "-I", "-c", code, src, str(good), str(hostile), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["version"] == [3, 9]
    assert out["pydantic"] is False
    assert out["manifest"] == inspect_package(good).to_dict()
    assert "path traversal" in out["refused"]
    assert (tmp_path / "out" / "code" / "inference.py").read_bytes() == INFERENCE
