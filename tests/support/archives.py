"""Model archives built in code for the tests: good ones, and a corpus of hostile or broken ones.

Nothing binary is committed: every archive is made here, with :mod:`tarfile` where it can write
the thing, and with hand-made tar headers (:func:`raw_header`) where it refuses to.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from mimsreg.engine.package import PackageLimits

BLOCK = 512
END = bytes(2 * BLOCK)  # tar end-of-archive marker
WEIGHTS = bytes(range(256)) * 40  # 10 KiB of "model weights"
INFERENCE = b"def model_fn(model_dir):\n    return None\n"


def gz(data: bytes) -> bytes:
    """Deterministic gzip (no timestamp)."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def file_info(name: str, size: int, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = mode
    return info


def special_info(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info


Entry = tuple[tarfile.TarInfo, bytes]


def file(name: str, data: bytes = b"x", mode: int = 0o644) -> Entry:
    return file_info(name, len(data), mode), data


def directory(name: str) -> Entry:
    return special_info(name, tarfile.DIRTYPE), b""


def symlink(name: str, target: str) -> Entry:
    return special_info(name, tarfile.SYMTYPE, target), b""


def hardlink(name: str, target: str) -> Entry:
    return special_info(name, tarfile.LNKTYPE, target), b""


def make_tar(entries: list[Entry], tar_format: int = tarfile.PAX_FORMAT) -> bytes:
    """A plain tar of ``entries`` as tarfile writes it (padded to a 10 KiB record)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tar_format) as archive:
        for info, data in entries:
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def good_entries() -> list[Entry]:
    """A small, correct SageMaker-style package: model files at the root, code under code/."""
    return [
        file("model.pth", WEIGHTS),
        file("config.json", b'{"layers": 3}'),
        directory("code"),
        file("code/inference.py", INFERENCE),
        file("code/requirements.txt", b"numpy\n"),
    ]


def good_tar() -> bytes:
    return make_tar(good_entries())


def good_tar_gz() -> bytes:
    return gz(good_tar())


def octal(value: int, width: int) -> bytes:
    return (b"%0*o" % (width - 1, value)) + b"\x00"


def raw_header(
    name: bytes | str,
    size: int = 0,
    typeflag: bytes = b"0",
    linkname: bytes | str = b"",
    mode: int = 0o644,
    size_field: bytes | None = None,
    magic: bytes = b"ustar\x0000",
    prefix: bytes = b"",
) -> bytes:
    """One 512-byte ustar header with a correct checksum, for what tarfile will not write."""
    if isinstance(name, str):
        name = name.encode()
    if isinstance(linkname, str):
        linkname = linkname.encode()
    header = bytearray(BLOCK)
    header[0:100] = name[:100].ljust(100, b"\x00")
    header[100:108] = octal(mode, 8)
    header[108:116] = octal(0, 8)
    header[116:124] = octal(0, 8)
    header[124:136] = size_field if size_field is not None else octal(size, 12)
    header[136:148] = octal(0, 12)
    header[148:156] = b" " * 8
    header[156:157] = typeflag
    header[157:257] = linkname[:100].ljust(100, b"\x00")
    header[257:265] = magic
    header[345:500] = prefix[:155].ljust(155, b"\x00")
    checksum = sum(header)
    header[148:156] = b"%06o\x00 " % checksum
    return bytes(header)


def raw_member(name: bytes | str, data: bytes = b"", **fields: object) -> bytes:
    """A header plus its data, padded to the 512-byte block."""
    header = raw_header(name, size=len(data), **fields)  # type: ignore[arg-type]
    return header + data + bytes(-len(data) % BLOCK)


def pax_record(key: str, value: str) -> bytes:
    body = f" {key}={value}\n".encode()
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length += 1
    return str(length).encode() + body


def base256(value: int, width: int = 12) -> bytes:
    """GNU base-256 numeric field (how tar writes sizes of 8 GiB and more)."""
    if value < 0:
        raw = (256 ** (width - 1) + value).to_bytes(width - 1, "big")
        return b"\xff" + raw
    return b"\x80" + value.to_bytes(width - 1, "big")


def gzip_bomb(inflated_gib: int = 8) -> bytes:
    """A tar.gz of one all-zero file of ``inflated_gib`` GiB, about 1 MB per GiB, built cheaply.

    One gzip member holds the tar header; then the same small member (4 MiB of zeros, ~4 KB) is
    repeated: concatenated gzip members are one valid gzip stream.
    """
    size = inflated_gib * 1024**3
    head = raw_header("weights.bin", size_field=base256(size))
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = compressor.compress(bytes(4 * 1024**2)) + compressor.flush()
    return gz(head) + zeros * (size // (4 * 1024**2)) + gz(END)


@dataclass(frozen=True)
class Hostile:
    """One archive that must be refused, and a regular expression the reason must match."""

    id: str
    build: Callable[[], bytes]
    reason: str
    limits: PackageLimits | None = None
    entry_point: str | None = None
    escapes: list[str] = field(default_factory=list)  # names an extraction must never create


def _tar_then(extra: bytes) -> bytes:
    return make_tar([file("model.pth", WEIGHTS)]) + extra


def _truncated_tar() -> bytes:
    data = make_tar([file("model.pth", WEIGHTS)])
    return data[: BLOCK + 3000]


def _no_end_marker() -> bytes:
    return raw_member("model.pth", WEIGHTS)


def _pax_member(records: dict[str, str], typeflag: bytes = b"0") -> bytes:
    body = b"".join(pax_record(key, value) for key, value in records.items())
    return raw_member("p", body, typeflag=b"x") + raw_member("a", typeflag=typeflag) + END


def _global_pax(key: str) -> bytes:
    body = pax_record(key, "evil")
    return raw_member("pax_global_header", body, typeflag=b"g") + raw_member("a", b"1") + END


def deep_path_archive(levels: int = 50_000) -> bytes:
    """One member whose pax path is ``a/`` ``levels`` times: 244 bytes for 50,000 levels. Each
    ancestor's string built per level took 2.4 GB and 10 s to inspect."""
    deep = "a/" * levels + "f"
    data = raw_member("p", pax_record("path", deep), typeflag=b"x") + raw_member("x", b"1") + END
    return gzip.compress(data, compresslevel=9, mtime=0)


def _long_link_target() -> bytes:
    target = "a/" * 3000 + "f"
    return _pax_member({"linkpath": target}, typeflag=b"2")


HOSTILE: list[Hostile] = [
    Hostile(
        "absolute-path",
        lambda: gz(make_tar([file("/tmp/mimsreg-escape/evil.py", b"x")])),
        r"member '/tmp/mimsreg-escape/evil.py': absolute path",
    ),
    Hostile(
        "dotdot-traversal",
        lambda: gz(make_tar([file("../escape.py", b"x")])),
        r"member '\.\./escape\.py': path traversal",
        escapes=["escape.py"],
    ),
    Hostile(
        "nested-dotdot-traversal",
        lambda: gz(make_tar([file("code/", b""), file("code/../../escape.py", b"x")])),
        r"member 'code/\.\./\.\./escape\.py': path traversal",
        escapes=["escape.py"],
    ),
    Hostile(
        "symlink-absolute",
        lambda: gz(make_tar([symlink("code/passwd", "/etc/passwd")])),
        r"member 'code/passwd': symlink to the absolute target '/etc/passwd'",
    ),
    Hostile(
        "symlink-outside",
        lambda: gz(make_tar([symlink("code/up", "../../escape")])),
        r"member 'code/up': symlink target '\.\./\.\./escape' points outside the archive",
        escapes=["escape"],
    ),
    Hostile(
        "symlink-dotdot-after-name",
        lambda: gz(make_tar([symlink("x", "code/../code/inference.py")])),
        r"member 'x': symlink target .* has '\.\.' after a name",
    ),
    Hostile(
        "symlink-then-write-through",
        lambda: gz(make_tar([symlink("lib", "code"), file("lib/evil.py", b"x")])),
        r"member 'lib/evil\.py': lies inside 'lib', which is a symlink",
    ),
    Hostile(
        "hardlink-absolute",
        lambda: gz(make_tar([hardlink("passwd", "/etc/passwd")])),
        r"member 'passwd': hard link to the absolute target '/etc/passwd'",
    ),
    Hostile(
        "hardlink-outside",
        lambda: gz(make_tar([hardlink("up", "../escape")])),
        r"member 'up': hard link target '\.\./escape' points outside the archive",
    ),
    Hostile(
        "hardlink-not-in-archive",
        lambda: gz(make_tar([hardlink("copy", "elsewhere/file")])),
        r"member 'copy': hard link target 'elsewhere/file' is not an earlier file",
    ),
    Hostile(
        "char-device",
        lambda: gz(make_tar([(special_info("dev/null", tarfile.CHRTYPE), b"")])),
        r"member 'dev/null': is a character device file",
    ),
    Hostile(
        "block-device",
        lambda: gz(make_tar([(special_info("sda", tarfile.BLKTYPE), b"")])),
        r"member 'sda': is a block device file",
    ),
    Hostile(
        "fifo",
        lambda: gz(make_tar([(special_info("pipe", tarfile.FIFOTYPE), b"")])),
        r"member 'pipe': is a FIFO",
    ),
    Hostile(
        "duplicate-after-normalisation",
        lambda: gz(make_tar([file("./model.pth", b"good"), file("model.pth", b"evil")])),
        r"member 'model\.pth': duplicate member name",
    ),
    Hostile(
        "duplicate-directory-vs-file",
        lambda: gz(make_tar([file("code", b"x"), directory("code/")])),
        r"member 'code/': duplicate member name",
    ),
    Hostile(
        "file-inside-a-file",
        lambda: gz(make_tar([file("model.pth", b"x"), file("model.pth/evil", b"y")])),
        r"member 'model\.pth/evil': lies inside 'model\.pth', which is a file",
    ),
    Hostile(
        "file-over-a-directory",
        lambda: gz(make_tar([file("code/a.py", b"x"), symlink("code", "elsewhere")])),
        r"member 'code': is a symlink, but earlier members lie inside it",
    ),
    Hostile(
        "not-an-archive",
        lambda: b"this is a README, not a model archive\n" * 40,
        r"is neither gzip nor tar",
    ),
    Hostile("short-junk", lambda: b"hello", r"is neither gzip nor tar"),
    Hostile("bzip2", lambda: b"BZh91AY&SY" + bytes(100), r"is a bzip2 file"),
    Hostile("zip", lambda: b"PK\x03\x04" + bytes(100), r"is a zip file"),
    Hostile(
        "gzip-of-not-tar",
        lambda: gz(b"just some text, no tar in here\n" * 40),
        r"the gzip stream does not hold a tar archive",
    ),
    Hostile("gzip-of-short-text", lambda: gz(b"hi"), r"the gzip stream does not hold a tar"),
    Hostile("truncated-gzip", lambda: good_tar_gz()[:-100], r"truncated: the gzip stream"),
    Hostile("truncated-gzip-header", lambda: good_tar_gz()[:5], r"truncated: the gzip stream"),
    Hostile("truncated-tar-in-data", _truncated_tar, r"truncated: .*inside member 'model\.pth'"),
    Hostile(
        "truncated-tar-in-header",
        lambda: make_tar([file("model.pth", WEIGHTS)])[: 21 * BLOCK + 100],
        r"truncated: the archive ends inside a member header",
    ),
    Hostile("no-end-marker", _no_end_marker, r"truncated: .*without the tar end-of-archive marker"),
    Hostile("empty-file", lambda: b"", r"empty file"),
    Hostile("empty-tar", lambda: END, r"holds no members \(empty archive\)"),
    Hostile("empty-tar-gz", lambda: gz(bytes(10240)), r"holds no members"),
    Hostile(
        "only-root-directory",
        lambda: gz(make_tar([directory("./")])),
        r"holds no members",
    ),
    Hostile(
        "garbage-after-gzip",
        lambda: good_tar_gz() + b"\x00\x00EVIL",
        r"trailing data after the gzip stream",
    ),
    Hostile(
        "one-garbage-byte-after-gzip",
        lambda: good_tar_gz() + b"E",
        r"trailing data after the gzip stream",
    ),
    Hostile(
        "garbage-after-tar-end",
        lambda: gz(_tar_then(b"hidden payload")),
        r"trailing data after the tar end-of-archive marker",
    ),
    Hostile(
        "too-many-members",
        lambda: gz(make_tar([file(f"f{i}", b"x") for i in range(5)])),
        r"member 'f3': more than 3 members",
        limits=PackageLimits(max_members=3),
    ),
    Hostile(
        "declared-size-bomb",
        lambda: gz(raw_header("weights.bin", size_field=base256(10 * 1024**4))),
        r"member 'weights\.bin': declares 10,995,116,277,760 bytes",
    ),
    Hostile(
        "uncompressed-size-limit",
        lambda: gz(make_tar([file("model.pth", WEIGHTS)]) + bytes(2 * 1024**2)),
        r"uncompressed size passes the limit of 1,048,576 bytes",
        limits=PackageLimits(max_uncompressed_bytes=1024**2),
    ),
    Hostile("gzip-bomb", lambda: gzip_bomb(2), r"compression ratio over 200:1 .*gzip bomb"),
    Hostile(
        "corrupt-second-header",
        lambda: raw_member("a", b"1") + raw_header("b")[:148] + b"9999999\x00" + bytes(356) + END,
        r"corrupt tar header after member 'a' \(bad checksum\)",
    ),
    Hostile(
        "corrupt-gzip-data",
        lambda: gz(good_tar())[:20] + b"\xff" * 40 + gz(good_tar())[60:],
        r"corrupt gzip stream|truncated",
    ),
    Hostile(
        "gnu-sparse",
        lambda: raw_member("sparse.bin", b"x", typeflag=b"S") + END,
        r"member 'sparse\.bin': is a GNU sparse file",
    ),
    Hostile(
        "pax-sparse",
        lambda: (
            raw_member("p", pax_record("GNU.sparse.map", "0,1"), typeflag=b"x")
            + raw_member("a", b"1")
            + END
        ),
        r"a GNU sparse file \(not supported\) \(in the header before the next member\)",
    ),
    Hostile(
        "global-pax-path",
        lambda: _global_pax("path"),
        r"a global pax header sets 'path' for every member",
    ),
    Hostile(
        "huge-extended-header",
        lambda: raw_header("p", size=64 * 1024**2, typeflag=b"x"),
        r"extended header of 67,108,864 bytes",
    ),
    Hostile(
        "malformed-pax",
        lambda: raw_member("p", b"99 path=x\n", typeflag=b"x") + raw_member("a", b"1") + END,
        r"malformed pax record",
    ),
    Hostile(
        "pax-not-followed-by-member",
        lambda: raw_member("p", pax_record("path", "a"), typeflag=b"x") + END,
        r"extended header is not followed by a member",
    ),
    Hostile(
        "pax-path-traversal",
        lambda: (
            raw_member("p", pax_record("path", "../../escape"), typeflag=b"x")
            + raw_member("innocent", b"1")
            + END
        ),
        r"member '\.\./\.\./escape': path traversal",
    ),
    Hostile(
        "gnu-longname-absolute",
        lambda: (
            raw_member("././@LongLink", b"/tmp/" + b"x" * 200 + b"\x00", typeflag=b"L")
            + raw_member("innocent", b"1")
            + END
        ),
        r"member '/tmp/x+': absolute path",
    ),
    Hostile(
        "non-utf8-name",
        lambda: raw_member(b"caf\xe9.bin", b"1") + END,
        r"member name b'caf\\xe9\.bin' is not valid UTF-8",
    ),
    Hostile(
        "directory-with-data",
        lambda: raw_member("code", b"smuggled", typeflag=b"5") + END,
        r"member 'code': a dir entry with 8 bytes of data",
    ),
    Hostile(
        "root-as-file",
        lambda: raw_member("./", b"", typeflag=b"0") + END,
        r"member '\./': a file named as the archive root",
    ),
    Hostile(
        "negative-size",
        lambda: raw_header("a", size_field=base256(-5)) + END,
        r"member 'a': negative size -5",
    ),
    Hostile(
        "bad-size-field",
        lambda: raw_header("a", size_field=b"12x4\x00       ") + END,
        r"invalid size field",
    ),
    Hostile(
        "unknown-type",
        lambda: raw_member("a", b"", typeflag=b"Z") + END,
        r"member 'a': unsupported member type b'Z'",
    ),
    Hostile(
        "empty-name",
        lambda: raw_member("", b"1") + END,
        r"empty member name",
    ),
    Hostile(
        "nul-in-pax-path",
        lambda: _pax_member({"path": "model.pth\x00.sh"}),
        r"member 'model\.pth\\x00\.sh': NUL character in the member name",
    ),
    Hostile(
        "symlink-empty-target",
        lambda: make_tar([symlink("link", "")]),
        r"member 'link': symlink with an empty target",
    ),
    Hostile(
        "symlink-nul-target",
        lambda: _pax_member({"linkpath": "a\x00b"}, typeflag=b"2"),
        r"NUL character in the symlink target",
    ),
    Hostile(
        "hardlink-empty-target",
        lambda: raw_member("link", typeflag=b"1") + END,
        r"member 'link': hard link with an empty target",
    ),
    Hostile(
        "hardlink-nul-target",
        lambda: _pax_member({"linkpath": "a\x00b"}, typeflag=b"1"),
        r"NUL character in the hard link target",
    ),
    Hostile(
        "pax-size-not-a-number",
        lambda: _pax_member({"size": "12e3"}),
        r"pax size '12e3' is not a number",
    ),
    Hostile(
        "pax-record-without-equals",
        lambda: raw_member("p", b"9 pathx\n\n", typeflag=b"x") + raw_member("a", b"1") + END,
        r"malformed pax record at byte 0",
    ),
    Hostile(
        "pax-record-bad-length",
        lambda: raw_member("p", b"abc path=x\n", typeflag=b"x") + raw_member("a", b"1") + END,
        r"malformed pax record at byte 0",
    ),
    Hostile(
        "missing-entry-point",
        lambda: gz(make_tar([file("model.pth", WEIGHTS), file("code/predict.py", b"x")])),
        r"entry point 'code/inference\.py' not found \(under code/: code/predict\.py\)",
        entry_point="inference.py",
    ),
    Hostile(
        "entry-point-is-a-directory",
        lambda: gz(make_tar([file("model.pth", WEIGHTS), directory("code/inference.py")])),
        r"entry point 'code/inference\.py' not found \(under code/: nothing\)",
        entry_point="inference.py",
    ),
    # Cheap to send, once expensive to read (issue 18).
    Hostile(
        "deep-path",
        deep_path_archive,
        r"member 'a/a/a.* \.\.\.\[99,858 characters left out\]\.\.\. .*/a/f': a member name of "
        r"100,001 bytes \(more than 4,096: PackageLimits\.max_name_bytes\)",
    ),
    Hostile(
        "long-symlink-target",
        _long_link_target,
        r"member 'a': a symlink target of 6,001 bytes \(more than 4,096",
    ),
    Hostile(
        "many-implied-directories",
        lambda: gz(make_tar([file("a/b/c/d/model.pth", WEIGHTS)])),
        r"member 'a/b/c/d/model\.pth': more than 3 directories, named or implied",
        limits=PackageLimits(max_members=3),
    ),
]
