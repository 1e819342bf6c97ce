"""Payload archives are read by the model archive's reader, under the same limits: a small
archive never costs more than its caps allow."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest

from mimsreg.engine.package import PackageLimits
from mimsreg.engine.payload import load_payload, parse_payload_bytes
from mimsreg.engine.payload.samples import PayloadLimits
from mimsreg.engine.spec import RegistrationSpec
from mimsreg.errors import PayloadError
from tests.support.archives import END, deep_path_archive, gz, raw_header, raw_member
from tests.support.cost import MIMSREG, measure

ROW = b"1,2,FR\n"


@pytest.fixture
def spec(seed_kwargs: dict[str, Any]) -> RegistrationSpec:
    from mimsreg.config import ModelRegistrationConfig

    return ModelRegistrationConfig(**seed_kwargs).to_spec()


def _huge_pax_payload(path: Path, header_bytes: int) -> Path:
    """A payload .tar.gz whose one sample follows a pax header of ``header_bytes`` (a comment),
    gzipped as a stream: 256 MiB of header is about 250 kB of archive."""
    length = header_bytes  # one record "<length> comment=xxx...\n" of exactly that many bytes
    padding = -length % 512
    gzip = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as out:
        out.write(gzip.compress(raw_header("p", size=length, typeflag=b"x")))
        out.write(gzip.compress(f"{length} comment=".encode()))
        rest = length - len(f"{length} comment=") - 1
        chunk = b"x" * 1024**2
        while rest > 0:
            out.write(gzip.compress(chunk[: min(rest, len(chunk))]))
            rest -= len(chunk)
        out.write(gzip.compress(b"\n" + bytes(padding)))
        out.write(gzip.compress(raw_member("payload_text_csv_0.csv", ROW) + END))
        out.write(gzip.flush())
    return path


def test_huge_pax_header_is_refused_cheaply(seed_kwargs: dict[str, Any], tmp_path: Path) -> None:
    """`payload --validate` on ~250 kB holding a 256 MiB pax header: exit 2 naming the limit,
    under 100 MB and a few seconds. Before (tarfile): accepted, 400 MiB of header at 1.2 GB."""
    archive = _huge_pax_payload(tmp_path / "payload.tar.gz", 256 * 1024**2)
    assert archive.stat().st_size < 400_000
    config = tmp_path / "config.json"
    config.write_text(json.dumps(seed_kwargs))
    cost = measure([*MIMSREG, "payload", str(config), "--validate", str(archive)], tmp_path)
    assert cost.exit_code == 2, str(cost)
    assert b"extended header of 268,435,4" in cost.output
    assert b"PackageLimits.max_extended_header_bytes" in cost.output
    assert cost.max_rss_mb < 100, str(cost)
    assert cost.cpu_seconds < 10, str(cost)


def test_payload_archives_share_the_package_limits(spec: RegistrationSpec) -> None:
    """PayloadLimits.archive is the model archives' PackageLimits: members, names, bombs."""
    assert PayloadLimits().archive == PackageLimits()
    two = gz(raw_member("a.csv", ROW) + raw_member("b.csv", ROW) + raw_member("c.csv", ROW) + END)
    assert len(parse_payload_bytes("p.tar.gz", two, spec)) == 3
    tight = PayloadLimits(archive=PackageLimits(max_members=2))
    with pytest.raises(PayloadError, match=r"p\.tar\.gz is not a readable .*more than 2 members"):
        parse_payload_bytes("p.tar.gz", two, spec, limits=tight)
    with pytest.raises(PayloadError, match=r"a member name of 100,001 bytes"):
        parse_payload_bytes("p.tar.gz", deep_path_archive(50_000), spec)
    bomb = gz(raw_header("zeros.csv", size=8 * 1024**2) + bytes(8 * 1024**2) + END)
    low_ratio = PackageLimits(max_compression_ratio=10, ratio_grace_bytes=1024**2)
    with pytest.raises(PayloadError, match=r"compression ratio over 10:1"):
        parse_payload_bytes("p.tar.gz", bomb, spec, limits=PayloadLimits(archive=low_ratio))


def test_payload_archive_samples_and_skips(spec: RegistrationSpec, tmp_path: Path) -> None:
    """Through the shared reader: folders group files, hidden files are skipped, other files
    are named, the samples keep their bytes."""
    data = gz(
        raw_header("dir/", typeflag=b"5")
        + raw_member("dir/payload_text_csv_0.csv", ROW * 2)
        + raw_member(".hidden.csv", b"not,even,read,here\n")
        + raw_member("notes.txt", b"hello")
        + END
    )
    with pytest.raises(PayloadError, match=r"notes\.txt: is not a payload file"):
        load_payload(_write(tmp_path / "p.tar.gz", data), spec)
    data = gz(raw_member("dir/payload_text_csv_0.csv", ROW * 2) + raw_member(".h.csv", b"x") + END)
    (sample,) = load_payload(_write(tmp_path / "q.tar.gz", data), spec)
    assert sample.name == "dir/payload_text_csv_0.csv"
    assert sample.body == ROW * 2
    assert len(sample.records) == 2


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
