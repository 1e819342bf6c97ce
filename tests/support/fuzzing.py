"""Hostile input for the whole CLI: generators of config files and archive bytes, and the checks
one ``mimsreg register`` run on them must pass. Used by tests/test_reliability_fuzz.py (a smoke
run) and reliability/fuzz.py (``make reliability-fuzz``: 10,000 config files and more).

A run passes when it exits 0 or 2 (never 1, never an uncaught exception), prints no traceback,
and, when it exits 2, says why on stderr in bounded space naming the file at fault, and leaves
the inventory exactly as it was: no row in SQLite, no file in the artifact store, no object in
S3, no model package.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import strategies as st

from mimsreg import ModelRegistrationConfig
from mimsreg.cli import cli
from tests.conftest import SEED_EXAMPLE
from tests.support.archives import (
    HOSTILE,
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

FIELDS = list(ModelRegistrationConfig.model_fields)
# Bound on what one refused run may print: a message, not a dump of the input.
MAX_ERROR_OUTPUT = 8000
BLOCK = 512

# --- config files ---------------------------------------------------------------------------------
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**400) | st.integers(max_value=-(10**30)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.text(max_size=3000, alphabet=st.characters(codec="utf-8")),
    st.sampled_from(
        ["NUMERIC", "text", "ml.m5.large", "xgboost", "text/csv", "NA", "s3://b/k", "", " "]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=10), st.integers()), inner, max_size=4),
    ),
    max_leaves=12,
)
keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=12), st.just("key\nwith newline"))


@st.composite
def mutated_seed(draw: st.DrawFn) -> dict[str, Any]:
    """The seed's valid config with some fields removed, replaced or added."""
    document: dict[str, Any] = dict(SEED_EXAMPLE)
    for name in draw(st.lists(st.sampled_from(sorted(document)), max_size=3)):
        document.pop(name, None)
    for name, value in draw(st.dictionaries(keys, values, max_size=3)).items():
        document[name] = value
    return document


def alias_bomb(levels: int) -> str:
    """A YAML billion-laughs: each level refers to the one before ten times."""
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append(f"model_registration_objective: *a{levels}")
    return "\n".join(lines) + "\n"


def serialise(document: Any, fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False, allow_nan=True).encode()
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode()


def _deeply_nested(depth: int) -> bytes:
    seed = serialise(SEED_EXAMPLE, "json")[:-1]  # without its closing brace
    return seed + b', "tags": ' + b"[" * depth + b"1" + b"]" * depth + b"}"


# Whole files no generator would stumble on: recursion, expansion, encoding and size attacks.
STRUCTURAL_ATTACKS = [
    _deeply_nested(3000),
    b"[" * 100_000 + b"]" * 100_000,
    b"a: " + b"[" * 50_000,
    alias_bomb(9).encode(),
    b"\xef\xbb\xbf" + serialise(SEED_EXAMPLE, "json"),
    b'{"framework_version": 1' + b"0" * 6000 + b"}",
    serialise({**SEED_EXAMPLE, "source_dir": "d/" * 3000}, "json"),
    serialise({**SEED_EXAMPLE, "source_dir": "x" * 5000}, "yaml"),
    serialise({**SEED_EXAMPLE, "model_owner": "\x00"}, "json"),
    b"model_registration_objective: !!python/object/apply:os.system ['true']",
    b"",
    b"\xff\xfe\x00\x00",
]


@st.composite
def config_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """(file suffix, file bytes) of a config file, from nearly valid to hostile."""
    fmt = draw(st.sampled_from(["json", "yaml"]))
    kind = draw(
        st.sampled_from(
            ["mutated", "mutated", "mutated", "arbitrary", "text", "bytes", "structure", "valid"]
        )
    )
    if kind == "valid":
        return f".{fmt}", serialise(SEED_EXAMPLE, fmt)
    if kind == "mutated":
        data = serialise(draw(mutated_seed()), fmt)
    elif kind == "arbitrary":
        data = serialise(draw(st.dictionaries(keys, values, max_size=8)), fmt)
    elif kind == "text":
        data = draw(st.text(max_size=400)).encode("utf-8", "surrogatepass")
    elif kind == "bytes":
        data = draw(st.binary(max_size=400))
    else:
        data = draw(st.sampled_from(STRUCTURAL_ATTACKS))
    if draw(st.booleans()) and data:
        # A few bytes flipped in a real document.
        mutable = bytearray(data)
        for position, value in draw(
            st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), max_size=3)
        ):
            mutable[position] = value
        data = bytes(mutable)
    return draw(st.sampled_from([f".{fmt}", f".{fmt}", ".yml", ".txt"])), data


# --- archives ------------------------------------------------------------------------------------
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


def _checksum_ok(header: bytes) -> bool:
    from mimsreg.engine.package import reader

    return bool(reader._checksum_ok(header))


HEADERS = [i for i in range(0, len(BASE_TAR), BLOCK) if _checksum_ok(BASE_TAR[i : i + BLOCK])]

edits = st.lists(
    st.tuples(st.integers(min_value=0, max_value=len(BASE_TAR) - 1), st.integers(0, 255)),
    min_size=1,
    max_size=8,
)


def fix_checksums(data: bytearray) -> None:
    """Recompute header checksums so mutations reach the header fields, not just the checksum."""
    for offset in HEADERS:
        header = data[offset : offset + BLOCK]
        if len(header) < BLOCK or not any(header):
            continue
        header[148:156] = b" " * 8
        data[offset + 148 : offset + 156] = b"%06o\x00 " % sum(header)


def mutate(base: bytes, changes: list[tuple[int, int]], cut: int | None, fix: bool) -> bytes:
    data = bytearray(base)
    for position, value in changes:
        data[position % len(data)] = value
    if fix:
        fix_checksums(data)
    if cut is not None:
        del data[cut % (len(data) + 1) :]
    return bytes(data)


@st.composite
def archive_bytes(draw: st.DrawFn) -> bytes:
    """A mutated real archive: plain tar or gzip, bytes changed, maybe truncated or recompressed."""
    kind = draw(st.sampled_from(["tar", "tar.gz", "gzip-of-mutated", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=2048))
    changes = draw(edits)
    cut = draw(st.one_of(st.none(), st.integers(min_value=0)))
    if kind == "tar":
        return mutate(BASE_TAR, changes, cut, draw(st.booleans()))
    if kind == "tar.gz":
        return mutate(BASE_TAR_GZ, changes, cut, False)
    return gz(mutate(BASE_TAR, changes, None, draw(st.booleans())))


def hostile_archives() -> list[tuple[str, bytes]]:
    return [(case.id, case.build()) for case in HOSTILE]


# --- running the CLI and checking what it did ----------------------------------------------------
@dataclass
class Tally:
    """What a batch of runs did."""

    examples: int = 0
    runs: int = 0
    exit_codes: dict[int, int] = field(default_factory=dict)
    tracebacks: int = 0
    writes_after_error: int = 0
    unclear_errors: int = 0
    subprocess_runs: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, outcome: RunOutcome) -> None:
        self.runs += 1
        self.exit_codes[outcome.exit_code] = self.exit_codes.get(outcome.exit_code, 0) + 1
        self.tracebacks += outcome.traceback
        self.writes_after_error += outcome.wrote_after_error
        self.unclear_errors += outcome.unclear
        if outcome.problems and len(self.failures) < 20:
            self.failures.append("; ".join(outcome.problems))

    @property
    def held(self) -> bool:
        bad_exits = set(self.exit_codes) - {0, 2}
        return not (bad_exits or self.tracebacks or self.writes_after_error or self.unclear_errors)


@dataclass
class RunOutcome:
    exit_code: int
    traceback: bool
    wrote_after_error: bool
    unclear: bool
    problems: list[str]


class World:
    """Where runs register: the local inventory (a MIMSREG_HOME) or SageMaker on moto."""

    def __init__(self, home: Path, endpoint: str | None = None, bucket: str | None = None) -> None:
        self.home = home
        self.endpoint = endpoint
        self.bucket = bucket
        home.mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        env = {"MIMSREG_HOME": str(self.home)}
        if self.endpoint:
            env["AWS_ENDPOINT_URL"] = self.endpoint
        return env

    def inventory_args(self) -> list[str]:
        return ["--inventory", "sagemaker", "--region", "us-east-1"] if self.endpoint else []

    def config_extra(self) -> dict[str, Any]:
        return {"bucket": self.bucket} if self.bucket else {}

    def snapshot(self) -> tuple[Any, ...]:
        """Everything a registration could have written."""
        if self.endpoint:
            import boto3

            s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=self.endpoint)
            sagemaker = boto3.client(
                "sagemaker", region_name="us-east-1", endpoint_url=self.endpoint
            )
            listing = s3.list_objects_v2(Bucket=str(self.bucket).format(region="us-east-1"))
            objects = sorted(o["Key"] for o in listing.get("Contents", []))
            uploads = s3.list_multipart_uploads(Bucket=str(self.bucket).format(region="us-east-1"))
            groups = sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
            packages = [
                len(
                    sagemaker.list_model_packages(ModelPackageGroupName=g["ModelPackageGroupName"])[
                        "ModelPackageSummaryList"
                    ]
                )
                for g in groups
            ]
            return (
                tuple(objects),
                len(uploads.get("Uploads", [])),
                len(groups),
                tuple(packages),
            )
        database = self.home / "inventory.db"
        rows: tuple[int, ...] = ()
        if database.exists():
            connection = sqlite3.connect(str(database))
            try:
                tables = [
                    name
                    for (name,) in connection.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                    )
                ]
                rows = tuple(
                    connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                    for table in tables
                )
            finally:
                connection.close()
        store = self.home / "artifacts"
        files = (
            tuple(sorted(str(p.relative_to(store)) for p in store.rglob("*")))
            if store.exists()
            else ()
        )
        return rows, files


def judge(
    exit_code: int,
    output: str,
    exception: BaseException | None,
    before: tuple[Any, ...],
    after: tuple[Any, ...],
    names: list[str],
) -> RunOutcome:
    """The verdict on one run: ``names`` are the file names an error may name."""
    problems: list[str] = []
    traceback = exception is not None or "Traceback (most recent call last)" in output
    if traceback:
        problems.append(
            f"uncaught {type(exception).__name__ if exception else 'traceback'}: "
            f"{str(exception)[:200] if exception else output[-300:]}"
        )
    if exit_code not in (0, 2):
        problems.append(f"exit {exit_code}: {output[-300:]}")
    wrote = exit_code != 0 and before != after
    if wrote:
        problems.append(f"exit {exit_code} but the inventory changed: {output[-200:]}")
    unclear = False
    if exit_code == 2:
        stripped = output.strip()
        if not stripped or len(output) > MAX_ERROR_OUTPUT or not any(n in output for n in names):
            unclear = True
            problems.append(f"unclear error ({len(output)} chars): {output[:300]!r}")
    return RunOutcome(exit_code, traceback, wrote, unclear, problems)


def register_in_process(
    world: World, model: Path, config: Path, runner: CliRunner | None = None
) -> RunOutcome:
    """``mimsreg register MODEL --config CONFIG --json`` through click's runner (no subprocess)."""
    runner = runner or CliRunner()
    before = world.snapshot()
    result = runner.invoke(
        cli,
        ["register", str(model), "--config", str(config), *world.inventory_args(), "--json"],
        env=world.env(),
        catch_exceptions=True,
    )
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    after = world.snapshot()
    return judge(
        result.exit_code, result.stderr, exception, before, after, [model.name, config.name]
    )


def register_subprocess(world: World, model: Path, config: Path) -> RunOutcome:
    """The same as a real process: no traceback may escape the interpreter either."""
    before = world.snapshot()
    process = subprocess.run(
        [
            str(Path(sys.executable).parent / "mimsreg"),
            "register",
            str(model),
            "--config",
            str(config),
            *world.inventory_args(),
            "--json",
        ],
        env={**os.environ, **world.env()},
        capture_output=True,
        text=True,
        timeout=300,
    )
    after = world.snapshot()
    return judge(process.returncode, process.stderr, None, before, after, [model.name, config.name])


def write_config(folder: Path, suffix: str, data: bytes, world: World, number: int) -> Path:
    """The config file to run; for a parseable mapping, the world's settings (the bucket) added."""
    path = folder / f"config-{number}{suffix}"
    extra = world.config_extra()
    if extra:
        try:
            document = json.loads(data) if suffix == ".json" else yaml.safe_load(data)
        except Exception:  # not parseable: used as it is
            document = None
        if isinstance(document, dict) and "bucket" not in document:
            document.update(extra)
            data = serialise(document, "json" if suffix == ".json" else "yaml")
    path.write_bytes(data)
    return path
