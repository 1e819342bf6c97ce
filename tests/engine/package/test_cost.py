"""Hostile archives stay cheap: a few bytes in never cost seconds, gigabytes or a disk's worth.

Time and memory are measured in a process of the check's own (``tests.support.cost``); the
bounds are generous and still far below what the old code took (figures in each docstring).
"""

from __future__ import annotations

import gzip
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from mimsreg.engine.package import PackageLimits, extract_package, inspect_package
from mimsreg.errors import InvalidPackageError
from tests.support.archives import (
    END,
    INFERENCE,
    deep_path_archive,
    file,
    gz,
    hardlink,
    make_tar,
    pax_record,
    raw_member,
    symlink,
)
from tests.support.cost import measure

# Inspects argv[1] with PackageLimits(**eval(argv[2])), timing the call itself on the CPU clock.
_INSPECT = """
import sys, time
from mimsreg.engine.package import PackageLimits, inspect_package
from mimsreg.errors import InvalidPackageError
limits = PackageLimits(**eval(sys.argv[2]))
started = time.process_time()
try:
    manifest = inspect_package(sys.argv[1], limits=limits)
    outcome = f"{len(manifest.members)} members"
except InvalidPackageError as exc:
    outcome = f"refused: {str(exc)[-200:]}"
print(f"{time.process_time() - started:.3f} {outcome}")
"""


def _inspect_cost(path: Path, limits: str = "{}") -> tuple[float, str, float]:
    """(CPU seconds of inspect_package, its outcome, peak RSS of the process in MB)."""
    cost = measure([sys.executable, "-c", _INSPECT, str(path), limits], path.parent, timeout=120)
    assert cost.exit_code == 0, str(cost)
    seconds, outcome = cost.output.decode().split(" ", 1)
    return float(seconds), outcome.strip(), cost.max_rss_mb


def test_deep_path_answers_in_under_a_second_and_100_mb(tmp_path: Path) -> None:
    """244 bytes holding one 100 kB path of 50,000 levels: refused (a name is at most 4096
    bytes) in under a second and 100 MB. Before: accepted after 10 s at 2.4 GB."""
    path = tmp_path / "deep.tar.gz"
    path.write_bytes(deep_path_archive(50_000))
    assert len(path.read_bytes()) < 300
    seconds, outcome, rss = _inspect_cost(path)
    assert outcome.startswith("refused:")
    assert "PackageLimits.max_name_bytes" in outcome
    assert seconds < 1.0
    assert rss < 100


def test_path_checks_are_linear_in_the_name(tmp_path: Path) -> None:
    """With the name cap lifted, the same 50,000-level path is walked, not squared: accepted
    in under a second and 100 MB (the old ancestor strings: 10 s, 2.4 GB)."""
    path = tmp_path / "deep.tar.gz"
    path.write_bytes(deep_path_archive(50_000))
    seconds, outcome, rss = _inspect_cost(path, "{'max_name_bytes': 10**7}")
    assert outcome == "1 members"
    assert seconds < 1.0
    assert rss < 100


def test_many_members_in_one_deep_folder_are_cheap(tmp_path: Path) -> None:
    """3,000 members, each a 4,000-byte path in one 2,000-level folder (100 kB of gzip):
    each name costs its length once. The old code built 2,000 ancestor strings per member."""
    stem = "b/" * 2000
    members = b"".join(
        raw_member("p", pax_record("path", f"{stem}f{i}"), typeflag=b"x") + raw_member("x", b"1")
        for i in range(3000)
    )
    path = tmp_path / "wide.tar.gz"
    path.write_bytes(gzip.compress(members + END, compresslevel=9, mtime=0))
    seconds, outcome, rss = _inspect_cost(path)
    assert outcome == "3000 members"
    assert seconds < 2.0
    assert rss < 200


def _links_archive(tmp_path: Path, size: int, links: int) -> Path:
    weights = os.urandom(size)  # incompressible: the archive is as large as the file
    entries = [file("code/inference.py", INFERENCE), file("w.bin", weights)]
    entries += [hardlink(f"l{i}", "w.bin") for i in range(links)]
    path = tmp_path / "links.tar.gz"
    path.write_bytes(gz(make_tar(entries)))
    return path


def test_link_copies_are_bounded_by_the_archive_files(tmp_path: Path) -> None:
    """A 1 MiB archive of 80 hard links to its one 1 MiB file: extraction copies links, and
    the copies may add at most what the files hold or 64 MiB; refused, nothing left behind.
    Before: a 4 MB archive of 200 links wrote 843 MB."""
    path = _links_archive(tmp_path, 1024**2, 80)
    dest = tmp_path / "out"
    with pytest.raises(InvalidPackageError, match=r"member 'l64': copying link members would") as e:
        extract_package(path, dest)
    assert "PackageLimits.link_copy_grace_bytes" in str(e.value)
    assert not dest.exists()
    # Inspection is not extraction: the archive itself is fine to register.
    assert len(inspect_package(path).members) == 82


def test_link_copies_within_the_files_size_are_extracted(tmp_path: Path) -> None:
    """Without the grace, copies may add exactly what the files hold: one link to the one
    file is copied, a second one is refused; a symlink copy counts the same."""
    tight = PackageLimits(link_copy_grace_bytes=0)
    one = _links_archive(tmp_path, 64 * 1024, 1)
    manifest = extract_package(one, tmp_path / "one", limits=tight)
    assert (tmp_path / "one" / "l0").read_bytes() == (tmp_path / "one" / "w.bin").read_bytes()
    assert manifest.member("l0") is not None
    two = _links_archive(tmp_path, 64 * 1024, 2)
    with pytest.raises(InvalidPackageError, match=r"member 'l1': copying link members"):
        extract_package(two, tmp_path / "two", limits=tight)
    assert not (tmp_path / "two").exists()
    entries = [file("w.bin", b"w" * 1000), symlink("s1", "w.bin"), symlink("s2", "w.bin")]
    (tmp_path / "sym.tar.gz").write_bytes(gz(make_tar(entries)))
    with pytest.raises(InvalidPackageError, match=r"member 's2': copying link members"):
        extract_package(tmp_path / "sym.tar.gz", tmp_path / "sym", limits=tight)


def test_extraction_makes_each_folder_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Members deep in shared folders: every folder is made once (not once per member and
    level: 10,000 calls before), files land where named."""
    entries = [file(f"{'d/' * 200}f{i}", b"%d" % i) for i in range(50)]
    entries.append(file("top", b"t"))
    source = tmp_path / "m.tar.gz"
    source.write_bytes(gz(make_tar(entries)))
    made: list[Path] = []
    mkdir = Path.mkdir

    def counting(self: Path, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", counting)
    extract_package(source, tmp_path / "out")
    assert len(made) == 1 + 200  # the destination, then each folder
    deepest = tmp_path.joinpath("out", *["d"] * 200)
    assert sorted(p.name for p in deepest.iterdir()) == sorted(f"f{i}" for i in range(50))
    assert (deepest / "f7").read_bytes() == b"7"
    assert (tmp_path / "out" / "top").read_bytes() == b"t"


def test_symlinks_resolve_through_the_tree(tmp_path: Path) -> None:
    """resolve() walks the member tree: links in the middle of a path, chains, loops and
    paths that go on through a file."""
    entries = [
        file("real/code/inference.py", INFERENCE),
        symlink("code", "real/code"),
        symlink("alias", "code"),
        symlink("loop1", "loop2"),
        symlink("loop2", "loop1"),
        file("weights.bin", b"w"),
    ]
    source = tmp_path / "m.tar.gz"
    source.write_bytes(gz(make_tar(entries)))
    manifest = inspect_package(source, entry_point="inference.py")
    assert manifest.entry_point == "code/inference.py"
    from mimsreg.engine.package.reader import _scan

    tar = _scan(source, None, None, None)[4]
    resolved = tar.resolve("alias/inference.py")
    assert resolved is not None
    assert resolved.name == "real/code/inference.py"
    assert tar.resolve("loop1/x") is None
    assert tar.resolve("weights.bin/x") is None
    assert tar.resolve("real") is None  # an implied folder: no member of its own
    assert tar.resolve("") is None
