"""The streaming tar/gzip reader: one pass over an archive, its SHA-256 computed beside it.

The file is read once, as a stream, in fixed-size chunks. A helper thread computes the SHA-256 of
the file's bytes while the calling thread inflates the same chunks and walks the tar headers
(``hashlib`` and ``zlib`` release the GIL on large buffers, so the two overlap on two cores).
Member data is never kept: only headers are parsed, and only into a bounded buffer; a sink (the
extractor) may receive it. Every hostile or broken archive is refused with
:class:`~mimsreg.engine.errors.InvalidPackageError` naming the archive, the member and the reason.
"""

from __future__ import annotations

import hashlib
import posixpath
import queue
import stat
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Protocol, Union

from mimsreg.engine.errors import InvalidPackageError
from mimsreg.engine.inputs import special_file_kind
from mimsreg.engine.package.members import (
    PackageLimits,
    PackageMember,
    PathLike,
    Progress,
    _escapes,
    _is_file,
)

# Raw bytes read per step. Small enough that a chunk is still in the CPU cache when it is hashed
# and inflated right after the read (8 MiB chunks measured ~40 % slower), large enough that the
# per-chunk Python overhead is negligible.
CHUNK_SIZE = 1024 * 1024
# zlib is fed slices of a chunk and asked for at most _PIECE_SIZE inflated bytes per call: that
# bounds memory whatever the compression ratio, and is how a gzip bomb is stopped early (limits are
# checked after every piece). Small pieces matter for speed too: zlib copies the unconsumed input
# on every call, and each piece of output is a fresh allocation; at 1 MiB those costs (copies and
# page faults as glibc hands freed megabytes back to the kernel) doubled the inflate time.
_INPUT_SLICE = 64 * 1024
_PIECE_SIZE = 256 * 1024
_BUFFERS = 4  # chunks in flight between the reader and the hashing thread
_BLOCK = 512
_ZERO_BLOCK = bytes(_BLOCK)
_MAX_SYMLINK_HOPS = 40

_GZIP_MAGIC = b"\x1f\x8b"
_MAGIC_BYTES = 8  # enough to tell gzip, tar and the formats below apart
_OTHER_FORMATS = (
    (b"BZh", "a bzip2 file"),
    (b"\xfd7zXZ\x00", "an xz file"),
    (b"\x28\xb5\x2f\xfd", "a zstd file"),
    (b"PK\x03\x04", "a zip file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-zip file"),
)

_MEMBER_TYPES = {
    b"0": "file",
    b"\x00": "file",
    b"7": "file",  # contiguous file: a regular file everywhere that matters
    b"1": "hardlink",
    b"2": "symlink",
    b"5": "dir",
}
_REFUSED_TYPES = {
    b"3": "a character device file",
    b"4": "a block device file",
    b"6": "a FIFO (named pipe)",
    b"S": "a GNU sparse file (not supported)",
    b"M": "a multi-volume continuation (not supported)",
    b"V": "a volume header (not supported)",
    b"N": "an old GNU long-name record (not supported)",
}


# --------------------------------------------------------------------------------------------------
# The tar layer: a push parser fed with the (inflated) tar stream, piece by piece.
# --------------------------------------------------------------------------------------------------

# The archive's names as a tree, one node per path component: a directory (explicit or implied
# by a deeper member) is a dict of its children, anything else is its member. Walking it costs
# the length of a name, where building every ancestor's string cost the square of it (a 244-byte
# archive holding one 100 kB deep path took 2.4 GB and 10 s).
_Node = Union[PackageMember, dict[str, Any]]
# Called with each member's name, type flag, link target and size before any other check (the
# payload reader's own rules); raises to refuse it.
Screen = Optional[Callable[[str, bytes, str, int], None]]


class _Sink(Protocol):
    """Receives what an extraction writes; only ever sees members that passed every check."""

    def directory(self, name: str) -> None: ...
    def begin_file(self, name: str, mode: int) -> None: ...
    def write(self, data: memoryview) -> None: ...
    def end_file(self) -> None: ...
    def hardlink(self, name: str, target: str, mode: int, size: int) -> None: ...


def _parse_number(raw: bytes) -> int:
    """A tar numeric field: NUL/space-terminated octal, or GNU base-256 for large values."""
    if raw[:1] in (b"\x80", b"\xff"):
        value = int.from_bytes(raw[1:], "big")
        if raw[:1] == b"\xff":
            value -= 256 ** (len(raw) - 1)
        return value
    text = raw.split(b"\x00", 1)[0].strip(b" ")
    if not text:
        return 0
    if text.strip(b"01234567"):
        raise ValueError(f"not an octal number: {raw!r}")
    return int(text, 8)


def _checksum_ok(header: bytes) -> bool:
    try:
        stored = _parse_number(header[148:156])
    except ValueError:
        return False
    unsigned = sum(header) - sum(header[148:156]) + 8 * 32
    if stored == unsigned:
        return True
    # Some old writers summed signed chars.
    high = sum(1 for b in header[:148] + header[156:] if b > 127)
    return stored == unsigned - 256 * high


def _decode(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} {raw!r} is not valid UTF-8") from exc


def _parse_pax(data: bytes) -> dict[str, str]:
    """The records ``"<length> <key>=<value>\\n"`` of a pax extended header."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        if not data[pos:].strip(b"\x00"):
            break  # NUL padding after the last record
        space = data.find(b" ", pos, pos + 20)
        digits = data[pos:space] if space > pos else b""
        if not digits or digits.strip(b"0123456789"):
            raise ValueError(f"malformed pax record at byte {pos}")
        length = int(digits)
        end = pos + length
        if end > len(data) or end <= space + 1 or data[end - 1 : end] != b"\n":
            raise ValueError(f"malformed pax record at byte {pos}")
        key, equals, value = data[space + 1 : end - 1].partition(b"=")
        if not equals or not key:
            raise ValueError(f"malformed pax record at byte {pos}")
        records[_decode(key, "pax key")] = _decode(value, "pax value")
        pos = end
    return records


class _TarParser:
    """Walks tar headers, validating every member; member data is skipped or handed to a sink."""

    def __init__(
        self,
        label: str,
        limits: PackageLimits,
        sink: _Sink | None = None,
        screen: Screen = None,
    ) -> None:
        self.label = label
        self.limits = limits
        self.sink = sink
        self.screen = screen
        self.members: list[PackageMember] = []
        self.entries: dict[str, PackageMember] = {}
        self.modes: dict[str, int] = {}
        self.total = 0  # tar stream bytes seen (the uncompressed size)
        self._tree: dict[str, _Node] = {}
        self._directories = 0  # nodes of the tree that are directories
        self._last_parent: tuple[str, dict[str, _Node]] = ("", self._tree)
        self._count = 0
        self._declared = 0
        self._headers = 0
        self._partial = bytearray()
        self._remaining = 0  # data bytes of the current entry still to come
        self._padding = 0
        self._meta: bytearray | None = None  # body of a pax / GNU long-name header being read
        self._meta_type = b""
        self._pending: dict[str, str] = {}  # what those headers say about the next member
        self._writing = False
        self._member: str | None = None  # the current member, for messages
        self._eof = False
        self.container = "the file"  # what holds the tar stream, for messages
        self.allow_empty = False  # the caller judges an archive without members itself

    # -- errors ------------------------------------------------------------------------------------

    def refuse(self, reason: str, member: str | None = None) -> InvalidPackageError:
        if member is None:
            return InvalidPackageError(f"{self.label}: {reason}")
        return InvalidPackageError(f"{self.label}: member {member!r}: {reason}")

    def _not_tar(self, detail: str) -> str:
        if self.container == "the file":
            return f"is neither gzip nor tar (no gzip magic, no valid tar header: {detail})"
        return f"{self.container} does not hold a tar archive (no valid tar header: {detail})"

    # -- the stream --------------------------------------------------------------------------------

    def feed(self, data: bytes | memoryview) -> None:
        """Consume the next piece of the tar stream."""
        view = memoryview(data)
        size = len(view)
        self.total += size
        if self.total > self.limits.max_uncompressed_bytes:
            raise self.refuse(
                f"uncompressed size passes the limit of {self.limits.max_uncompressed_bytes:,} "
                "bytes (PackageLimits.max_uncompressed_bytes)"
            )
        pos = 0
        while pos < size:
            if self._remaining:
                take = min(self._remaining, size - pos)
                if self._meta is not None:
                    self._meta += view[pos : pos + take]
                elif self._writing:
                    assert self.sink is not None
                    self.sink.write(view[pos : pos + take])
                self._remaining -= take
                pos += take
                if not self._remaining:
                    self._end_entry()
            elif self._padding:
                take = min(self._padding, size - pos)
                self._padding -= take
                pos += take
            elif self._eof:
                rest = view[pos:]
                if rest != bytes(len(rest)):
                    raise self.refuse(
                        "trailing data after the tar end-of-archive marker "
                        "(only zero padding may follow it)"
                    )
                return
            elif not self._partial and size - pos >= _BLOCK:
                self._header(bytes(view[pos : pos + _BLOCK]))
                pos += _BLOCK
            else:
                take = min(_BLOCK - len(self._partial), size - pos)
                self._partial += view[pos : pos + take]
                pos += take
                if len(self._partial) == _BLOCK:
                    header = bytes(self._partial)
                    self._partial.clear()
                    self._header(header)

    def finish(self) -> None:
        """The stream ended: refuse anything but a complete archive."""
        if self._headers == 0 and not self._eof:
            raise self.refuse(self._not_tar("it is too short to hold a tar header"))
        if self._remaining or (self._meta is not None):
            where = f"inside member {self._member!r}" if self._member else "inside a header"
            raise self.refuse(
                f"truncated: the archive ends {where}, {self._remaining:,} bytes short"
            )
        if self._partial:
            raise self.refuse("truncated: the archive ends inside a member header")
        if not self._eof:
            raise self.refuse("truncated: the archive ends without the tar end-of-archive marker")
        if not self.members and not self.allow_empty:
            raise self.refuse("the archive holds no members (empty archive)")

    # -- headers -----------------------------------------------------------------------------------

    def _header(self, header: bytes) -> None:
        if header == _ZERO_BLOCK:
            if self._pending:
                raise self.refuse("an extended header is not followed by a member")
            self._eof = True
            return
        if not _checksum_ok(header):
            if self._headers == 0:
                raise self.refuse(self._not_tar(f"it starts with {header[:8]!r}"))
            raise self.refuse(f"corrupt tar header after member {self._member!r} (bad checksum)")
        self._headers += 1
        typeflag = header[156:157]
        try:
            size = _parse_number(header[124:136])
        except ValueError as exc:
            raise self.refuse(f"corrupt tar header: invalid size field ({exc})") from exc
        if typeflag in (b"x", b"g", b"L", b"K"):
            most = self.limits.max_extended_header_bytes
            if not 0 <= size <= most:
                raise self.refuse(
                    f"extended header of {size:,} bytes (more than {most:,}: "
                    "PackageLimits.max_extended_header_bytes)"
                )
            self._meta = bytearray()
            self._meta_type = typeflag
            self._start_entry(size)
            return
        try:
            self._member_header(header, typeflag, size)
        except ValueError as exc:
            raise self.refuse(str(exc), self._member) from exc

    def _member_header(self, header: bytes, typeflag: bytes, size: int) -> None:
        pending, self._pending = self._pending, {}
        self._member = None
        if "path" in pending:
            name = pending["path"]
        else:
            name = _decode(header[0:100].split(b"\x00", 1)[0], "member name")
            if header[257:263] == b"ustar\x00":
                prefix = _decode(header[345:500].split(b"\x00", 1)[0], "member name prefix")
                if prefix:
                    name = f"{prefix}/{name}"
        self._member = name
        if "linkpath" in pending:
            link: str | None = pending["linkpath"]
        else:
            link = _decode(header[157:257].split(b"\x00", 1)[0], "link target")
        if "size" in pending:
            size = int(pending["size"])
        mode = _parse_number(header[100:108])

        self._count += 1
        if self._count > self.limits.max_members:
            raise ValueError(
                f"more than {self.limits.max_members:,} members (PackageLimits.max_members)"
            )
        if self.screen is not None:
            self.screen(name, typeflag, link or "", size)
        refused = _REFUSED_TYPES.get(typeflag)
        if refused is not None:
            raise ValueError(f"is {refused}")
        kind = _MEMBER_TYPES.get(typeflag)
        if kind is None:
            raise ValueError(f"unsupported member type {typeflag!r}")
        norm = self._normalise(name)
        if size < 0:
            raise ValueError(f"negative size {size}")
        if kind != "file" and size:
            raise ValueError(f"a {kind} entry with {size:,} bytes of data")
        self._declared += size
        if self._declared > self.limits.max_uncompressed_bytes:
            raise ValueError(
                f"declares {size:,} bytes, taking the archive past the limit of "
                f"{self.limits.max_uncompressed_bytes:,} uncompressed bytes "
                "(PackageLimits.max_uncompressed_bytes)"
            )
        if norm == ".":
            if kind != "dir":
                raise ValueError(f"a {kind} named as the archive root")
            return  # `tar -C dir .` writes the root itself as "./": nothing to record
        if kind == "symlink":
            link = self._check_symlink(norm, link)
        elif kind == "hardlink":
            link = self._check_hardlink(link)
        else:
            link = None
        member = PackageMember(norm, size, kind, link)
        self._place(member)
        self.members.append(member)
        self.entries[norm] = member
        self.modes[norm] = mode
        if kind == "file":
            if self.sink is not None:
                self.sink.begin_file(norm, mode)
                self._writing = True
            self._start_entry(size)
        elif self.sink is not None:
            if kind == "dir":
                self.sink.directory(norm)
            elif kind == "hardlink":
                assert link is not None
                target = self.entries[link]
                self.sink.hardlink(norm, link, mode, target.size)

    def _check_length(self, text: str, what: str) -> None:
        # Before anything walks it: every later check is then linear in a bounded length.
        most = self.limits.max_name_bytes
        if len(text) > most or len(text.encode("utf-8", "surrogatepass")) > most:
            raise ValueError(
                f"{what} of {len(text.encode('utf-8', 'surrogatepass')):,} bytes (more than "
                f"{most:,}: PackageLimits.max_name_bytes)"
            )

    def _normalise(self, name: str) -> str:
        if not name:
            raise ValueError("empty member name")
        self._check_length(name, "a member name")
        if "\x00" in name:
            raise ValueError("NUL character in the member name")
        if posixpath.isabs(name):
            raise ValueError("absolute path (members must be relative to the archive root)")
        if ".." in name.split("/"):
            raise ValueError("path traversal ('..' in the member name)")
        return posixpath.normpath(name)

    def _check_symlink(self, norm: str, target: str | None) -> str:
        if not target:
            raise ValueError("symlink with an empty target")
        self._check_length(target, "a symlink target")
        if "\x00" in target:
            raise ValueError("NUL character in the symlink target")
        if posixpath.isabs(target):
            raise ValueError(f"symlink to the absolute target {target!r}")
        parts = [p for p in target.split("/") if p not in ("", ".")]
        leading = 0
        while leading < len(parts) and parts[leading] == "..":
            leading += 1
        if ".." in parts[leading:]:
            # After a name, '..' would be resolved by the OS through that name, which may itself
            # be a link: a lexical check could not vouch for it.
            raise ValueError(f"symlink target {target!r} has '..' after a name")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(norm), target))
        if _escapes(resolved):
            raise ValueError(f"symlink target {target!r} points outside the archive")
        return target

    def _check_hardlink(self, target: str | None) -> str:
        if not target:
            raise ValueError("hard link with an empty target")
        self._check_length(target, "a hard link target")
        if "\x00" in target:
            raise ValueError("NUL character in the hard link target")
        if posixpath.isabs(target):
            raise ValueError(f"hard link to the absolute target {target!r}")
        resolved = posixpath.normpath(target)
        if ".." in target.split("/") or _escapes(resolved):
            raise ValueError(f"hard link target {target!r} points outside the archive")
        earlier = self.entries.get(resolved)
        if earlier is None or not _is_file(earlier):
            raise ValueError(f"hard link target {target!r} is not an earlier file of the archive")
        # A link to a link is a link to the first file.
        return (
            earlier.link_target if earlier.type == "hardlink" and earlier.link_target else resolved
        )

    def _new_directory(self) -> dict[str, _Node]:
        self._directories += 1
        if self._directories > self.limits.max_members:
            raise ValueError(
                f"more than {self.limits.max_members:,} directories, named or implied by the "
                "members' paths (PackageLimits.max_members)"
            )
        return {}

    def _walk_to(self, folder: str) -> dict[str, _Node]:
        """The directory node of ``folder``, made where missing; refused inside a non-directory."""
        node = self._tree
        parts = folder.split("/") if folder else []
        for depth, part in enumerate(parts):
            child = node.get(part)
            if child is None:
                child = node[part] = self._new_directory()
            elif isinstance(child, PackageMember):
                ancestor = "/".join(parts[: depth + 1])
                raise ValueError(f"lies inside {ancestor!r}, which is a {child.type}")
            node = child
        return node

    def _place(self, member: PackageMember) -> None:
        """Put ``member`` into the tree: no duplicate, nothing inside a file or link, no file
        where earlier members made a directory. Linear in the length of the name."""
        if member.name in self.entries:
            raise ValueError(
                f"duplicate member name (another entry also normalises to {member.name!r})"
            )
        parent, _, last = member.name.rpartition("/")
        if parent == self._last_parent[0]:
            node = self._last_parent[1]  # archives list a folder's members one after another
        else:
            node = self._walk_to(parent)
            self._last_parent = (parent, node)
        if member.type == "dir":
            if last not in node:
                node[last] = self._new_directory()
        elif isinstance(node.get(last), dict):
            raise ValueError(f"is a {member.type}, but earlier members lie inside it")
        else:
            node[last] = member

    def _start_entry(self, size: int) -> None:
        self._remaining = size
        self._padding = -size % _BLOCK
        if not size:
            self._end_entry()

    def _end_entry(self) -> None:
        if self._meta is not None:
            body, self._meta = bytes(self._meta), None
            try:
                self._extended_header(body)
            except ValueError as exc:
                raise self.refuse(f"{exc} (in the header before the next member)") from exc
        elif self._writing:
            assert self.sink is not None
            self._writing = False
            self.sink.end_file()

    def _extended_header(self, body: bytes) -> None:
        if self._meta_type in (b"L", b"K"):
            value = _decode(body.split(b"\x00", 1)[0], "GNU long name")
            self._pending["path" if self._meta_type == b"L" else "linkpath"] = value
            return
        records = _parse_pax(body)
        if any(key.startswith("GNU.sparse.") for key in records):
            raise ValueError("a GNU sparse file (not supported)")
        if self._meta_type == b"g":
            for key in ("path", "linkpath", "size"):
                if key in records:
                    raise ValueError(f"a global pax header sets {key!r} for every member")
            return
        for key in ("path", "linkpath"):
            if key in records:
                self._pending[key] = records[key]
        if "size" in records:
            value = records["size"]
            if not value or value.strip("0123456789"):
                raise ValueError(f"pax size {value!r} is not a number")
            self._pending["size"] = value

    # -- after the pass ----------------------------------------------------------------------------

    def resolve(self, name: str) -> PackageMember | None:
        """The member a path inside the archive refers to, following its symlinks (and chains).

        Walks the tree, so it costs the length of the path (times the symlinks followed).
        """
        todo = [p for p in reversed(name.split("/")) if p not in ("", ".")]  # next part last
        walked: list[str] = []
        node = self._tree
        hops = 0
        while todo:
            part = todo.pop()
            child = node.get(part)
            if isinstance(child, dict):
                walked.append(part)
                node = child
                continue
            if child is None:
                return None
            if child.type == "symlink" and child.link_target:
                hops += 1
                if hops > _MAX_SYMLINK_HOPS:
                    return None  # a loop
                target = posixpath.normpath(posixpath.join("/".join(walked), child.link_target))
                # Walk the target again from the root: its own components may be links too.
                # Names never start with "..": a target that escapes simply matches nothing.
                todo.extend(p for p in reversed(target.split("/")) if p != ".")
                walked = []
                node = self._tree
                continue
            if todo:
                return None  # a path that goes on through a file
            if child.type == "hardlink" and child.link_target:
                return self.entries.get(child.link_target)
            return child
        return self.entries.get("/".join(walked)) if walked else None


# --------------------------------------------------------------------------------------------------
# The gzip layer and the reader.
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inflater:
    """Where gzip members are inflated: a zlib-compatible module's ``decompressobj`` and ``error``.

    The engine uses the standard library's zlib (all the processing job's Python has); the host
    passes a faster implementation with the same API (zlib-ng, see ``mimsreg._inflate``). Both
    check each member's CRC-32 and length (``wbits=31``): the refusals and manifests are the same.
    """

    name: str
    decompressobj: Callable[..., Any]
    error: type[Exception]


STDLIB_INFLATER = Inflater(f"zlib {zlib.ZLIB_RUNTIME_VERSION}", zlib.decompressobj, zlib.error)


class _Gunzip:
    """Inflates gzip members (several, concatenated, are allowed) into the tar parser."""

    def __init__(self, tar: _TarParser, limits: PackageLimits, inflater: Inflater) -> None:
        self.tar = tar
        self.limits = limits
        self.inflater = inflater
        self._inflate = inflater.decompressobj(wbits=31)
        self._state = "member"  # "member" | "between" (after a member) | "zeros" (padding)
        self._carry = b""
        self._consumed = 0  # compressed bytes fed so far

    def feed(self, chunk: bytes | memoryview) -> None:
        data: bytes | memoryview = chunk
        while len(data):
            if self._state == "member":
                data = self._inflate_some(data)
            elif self._state == "between":
                # Another gzip member may follow (`cat a.gz b.gz` is valid gzip), or zero padding.
                take = 2 - len(self._carry)
                self._carry += bytes(data[:take])
                data = data[take:]
                if len(self._carry) < 2:
                    return  # the next chunk decides
                head, self._carry = self._carry, b""
                if head == _GZIP_MAGIC:
                    self._inflate = self.inflater.decompressobj(wbits=31)
                    self._state = "member"
                else:
                    self._state = "zeros"
                data = head + bytes(data)
            else:
                if bytes(data).strip(b"\x00"):
                    raise self.tar.refuse(
                        "trailing data after the gzip stream (only zero padding may follow it)"
                    )
                return

    def _inflate_some(self, data: bytes | memoryview) -> bytes:
        """Inflate ``data`` until it is used up or the gzip member ends; return what follows it."""
        view = memoryview(data)
        for start in range(0, len(view), _INPUT_SLICE):
            rest = self._inflate_slice(view[start : start + _INPUT_SLICE])
            if self._inflate.eof:
                return rest + bytes(view[start + _INPUT_SLICE :])
        return b""

    def _inflate_slice(self, data: bytes | memoryview) -> bytes:
        before = len(data)
        while True:
            try:
                out = self._inflate.decompress(data, _PIECE_SIZE)
            except self.inflater.error as exc:
                raise self.tar.refuse(f"corrupt gzip stream ({exc})") from exc
            if self._inflate.eof:
                rest: bytes = self._inflate.unused_data
                self._consumed += before - len(rest)
                self._emit(out)
                self._state = "between"
                return rest
            data = self._inflate.unconsumed_tail
            self._consumed += before - len(data)
            before = len(data)
            full = len(out) == _PIECE_SIZE
            self._emit(out)
            del out  # free it before the next piece is allocated: the allocator reuses it
            # A full piece may leave output inside zlib even when all input is consumed.
            if not data and not full:
                return b""

    def _emit(self, out: bytes) -> None:
        if not out:
            return
        self.tar.feed(out)
        inflated = self.tar.total
        if (
            inflated > self.limits.ratio_grace_bytes
            and inflated > self.limits.max_compression_ratio * max(self._consumed, 1)
        ):
            raise self.tar.refuse(
                f"compression ratio over {self.limits.max_compression_ratio:g}:1 "
                f"({inflated:,} bytes inflated from {self._consumed:,}): a gzip bomb? "
                "(PackageLimits.max_compression_ratio)"
            )

    def finish(self) -> None:
        if self._state == "member":
            raise self.tar.refuse("truncated: the gzip stream ends early")
        if self._state == "between" and self._carry.strip(b"\x00"):
            raise self.tar.refuse(
                "trailing data after the gzip stream (only zero padding may follow it)"
            )


def _pump(
    reader: Any, consume: Callable[[memoryview], None], progress: Progress
) -> tuple[str, int]:
    """Read ``reader`` to its end; hash every byte in a helper thread while ``consume`` runs.

    Returns the hex SHA-256 and the number of bytes read.
    """
    free: queue.Queue[bytearray] = queue.Queue()
    for _ in range(_BUFFERS):
        free.put(bytearray(CHUNK_SIZE))
    todo: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()
    digest = hashlib.sha256()

    def hash_chunks() -> None:
        while True:
            item = todo.get()
            if item is None:
                return
            buffer, length = item
            with memoryview(buffer) as view:
                digest.update(view[:length])  # releases the GIL
            free.put(buffer)  # only now may the reader refill it

    hasher = threading.Thread(target=hash_chunks, name="mimsreg-sha256", daemon=True)
    hasher.start()
    total = 0
    try:
        while True:
            buffer = free.get()
            length = reader.readinto(buffer)
            if not length:
                break
            todo.put((buffer, length))
            total += length
            with memoryview(buffer) as view:
                consume(view[:length])
            if progress is not None:
                progress(total)
    finally:
        todo.put(None)
        hasher.join()
    return digest.hexdigest(), total


def _locate(path: PathLike) -> Path:
    """The archive file: ``path`` itself, or the one file of the directory ``path``."""
    location = Path(path)
    try:
        is_dir = location.is_dir()
        exists = is_dir or location.exists()
    except OSError as exc:
        raise InvalidPackageError(f"{location}: cannot read: {exc}") from exc
    if not exists:
        raise InvalidPackageError(f"{location}: no such file or directory")
    kind = special_file_kind(location)
    # A FIFO given by name is read as a stream (`<(curl ...)`); a device never ends or holds
    # an archive. The commands refuse FIFOs too (engine.inputs.refuse_special_file).
    if kind is not None and not stat.S_ISFIFO(location.stat().st_mode):
        raise InvalidPackageError(f"{location}: is {kind}, not a model archive")
    if not is_dir:
        return location
    try:
        entries = sorted(entry.name for entry in location.iterdir())
    except OSError as exc:
        raise InvalidPackageError(f"{location}: cannot list the directory: {exc}") from exc
    if not entries:
        raise InvalidPackageError(
            f"{location}: the directory is empty; it must hold exactly one model archive"
        )
    if len(entries) > 1:
        raise InvalidPackageError(
            f"{location}: the directory holds {len(entries)} entries "
            f"({', '.join(entries)}); it must hold exactly one model archive"
        )
    only = location / entries[0]
    if only.is_dir():
        raise InvalidPackageError(
            f"{location}: holds only the directory {entries[0]!r}; "
            "it must hold exactly one model archive file"
        )
    kind = special_file_kind(only)
    if kind is not None:
        raise InvalidPackageError(
            f"{location}: holds only {entries[0]!r}, which is {kind}; "
            "it must hold exactly one model archive file"
        )
    return only


class _Stream:
    """Sends the file's bytes to the right first layer, told by its magic bytes."""

    def __init__(
        self, label: str, tar: _TarParser, limits: PackageLimits, inflater: Inflater
    ) -> None:
        self.label = label
        self.tar = tar
        self.limits = limits
        self.inflater = inflater
        self.layer: _Gunzip | _TarParser | None = None
        self._head = b""  # the first bytes, until there are enough to tell the format

    def feed(self, chunk: memoryview) -> None:
        if self.layer is None:
            # A pipe may deliver the first bytes one at a time.
            missing = _MAGIC_BYTES - len(self._head)
            self._head += bytes(chunk[:missing])
            if len(self._head) < _MAGIC_BYTES:
                return
            self._start()
            chunk = chunk[missing:]
        assert self.layer is not None
        self.layer.feed(chunk)

    def _start(self) -> None:
        head = self._head
        if head[:2] == _GZIP_MAGIC:
            self.tar.container = "the gzip stream"
            self.layer = _Gunzip(self.tar, self.limits, self.inflater)
        else:
            for magic, what in _OTHER_FORMATS:
                if head[: len(magic)] == magic:
                    raise InvalidPackageError(
                        f"{self.label}: is {what}, not a gzip or tar archive "
                        "(SageMaker expects model.tar.gz)"
                    )
            self.layer = self.tar
        self.layer.feed(head)

    def finish(self) -> str:
        """Check that the stream was complete; return the compression ("gzip" or "none")."""
        if self.layer is None:
            if not self._head:
                raise InvalidPackageError(f"{self.label}: empty file (not a gzip or tar archive)")
            self._start()
        if isinstance(self.layer, _Gunzip):
            self.layer.finish()
        self.tar.finish()
        return "gzip" if isinstance(self.layer, _Gunzip) else "none"


def _scan(
    path: PathLike,
    limits: PackageLimits | None,
    progress: Progress,
    sink: _Sink | None,
    inflater: Inflater | None = None,
) -> tuple[Path, str, int, str, _TarParser]:
    archive = _locate(path)
    label = str(archive)
    limits = limits or PackageLimits()
    tar = _TarParser(label, limits, sink)
    stream = _Stream(label, tar, limits, inflater or STDLIB_INFLATER)
    try:
        with archive.open("rb", buffering=0) as reader:
            digest, size = _pump(reader, stream.feed, progress)
    except OSError as exc:
        raise InvalidPackageError(f"{label}: cannot read: {exc}") from exc
    compression = stream.finish()
    return archive, digest, size, compression, tar


def read_tar_gz(
    stream: Any,
    label: str,
    limits: PackageLimits,
    sink: _Sink | None = None,
    screen: Screen = None,
    *,
    allow_empty: bool = False,
) -> list[PackageMember]:
    """Read a gzip-compressed tar from the binary file object ``stream`` with every check of
    :func:`~mimsreg.engine.package.inspect_package` (the same ``limits``), without hashing it.

    ``screen`` sees each member first and may refuse it; ``sink`` receives the files' data.
    Returns the members; raises :class:`InvalidPackageError` as the model archive reader does.
    """
    tar = _TarParser(label, limits, sink, screen)
    tar.container = "the gzip stream"
    tar.allow_empty = allow_empty
    gunzip = _Gunzip(tar, limits, STDLIB_INFLATER)  # payloads are small: the stdlib will do
    while True:
        chunk = stream.read(CHUNK_SIZE)
        if not chunk:
            break
        gunzip.feed(chunk)
    gunzip.finish()
    tar.finish()
    return tar.members
