"""`mimsreg inspect`: a summary or JSON for a good archive, exit 2 with the reason otherwise."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mimsreg import cli as cli_module
from tests.conftest import EXAMPLE_CONFIG
from tests.support.archives import HOSTILE, INFERENCE, WEIGHTS, directory, file, gz, make_tar
from tests.support.cli import invoke
from tests.support.imports import heavy_in, modules_after


@pytest.fixture
def model(tmp_path: Path) -> Path:
    entries = [
        file("model.pth", WEIGHTS),
        *[file(f"shard-{i:02d}.bin", b"w") for i in range(22)],
        directory("code"),
        file("code/inference.py", INFERENCE),
    ]
    path = tmp_path / "model.tar.gz"
    path.write_bytes(gz(make_tar(entries)))
    return path


def test_summary(model: Path) -> None:
    """The human summary names size, digest, compression, members, entry point, model files."""
    result = invoke("inspect", str(model))
    assert result.exit_code == 0, result.output
    out = result.stdout
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert out.startswith(f"{model}: valid model package\n")
    assert f"sha256        {digest}" in out
    assert f"({model.stat().st_size:,} bytes)" in out
    assert "compression   gzip (ratio " in out
    assert "members       25 (1 dir, 24 files)" in out
    assert "uncompressed  " in out
    assert "entry point   code/inference.py" in out
    assert "model files   model.pth (10.0 KiB)" in out
    assert "shard-18.bin (1 B)" in out
    assert "shard-19.bin" not in out  # the first 20 are listed, then a count
    assert "... and 3 more" in out
    assert result.stderr == ""


def test_json(model: Path) -> None:
    """--json prints PackageManifest.to_dict(): sha256, size, members, entry_point and more."""
    result = invoke("inspect", "--json", str(model))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert data["size"] == model.stat().st_size
    assert data["entry_point"] == "code/inference.py"
    assert data["compression"] == "gzip"
    assert data["members"][0] == {
        "name": "model.pth",
        "size": len(WEIGHTS),
        "type": "file",
        "link_target": None,
    }


def test_plain_tar_without_code(tmp_path: Path) -> None:
    """A plain tar with no code/ and no model files besides a directory still summarises."""
    path = tmp_path / "m.tar"
    path.write_bytes(make_tar([directory("weights"), file("code/serve.py", b"x")]))
    result = invoke("inspect", str(path))
    assert result.exit_code == 0, result.output
    assert "compression   none\n" in result.stdout
    assert "entry point   (none: no code/inference.py)" in result.stdout
    assert "model files   (none)" in result.stdout


def test_config_entry_point(model: Path, tmp_path: Path) -> None:
    """--config requires the configuration's entry point; a missing one is exit 2 with a list."""
    ok = invoke("inspect", str(model), "--config", str(EXAMPLE_CONFIG))
    assert ok.exit_code == 0, ok.output
    config = tmp_path / "c.yaml"
    config.write_text(
        EXAMPLE_CONFIG.read_text().replace("entry_point: inference.py", "entry_point: serve.py")
    )
    bad = invoke("inspect", str(model), "--config", str(config))
    assert bad.exit_code == 2
    assert bad.stderr == (
        f"error: {model}: entry point 'code/serve.py' not found (under code/: code/inference.py)\n"
    )


def test_entry_point_option(model: Path) -> None:
    """--entry-point names the script directly (and wins over --config)."""
    result = invoke(
        *["inspect", str(model), "--config", str(EXAMPLE_CONFIG), "--entry-point", "x.py"]
    )
    assert result.exit_code == 2
    assert "entry point 'code/x.py' not found" in result.stderr
    bad = invoke("inspect", str(model), "--entry-point", "../x.py")
    assert bad.exit_code == 2
    assert "must be a relative path inside code/" in bad.stderr


def test_invalid_config_is_exit_2(model: Path, tmp_path: Path) -> None:
    """A broken --config is reported field by field, before the archive is read."""
    config = tmp_path / "c.yaml"
    config.write_text("framework: keras\n")
    result = invoke("inspect", str(model), "--config", str(config))
    assert result.exit_code == 2
    assert "error: invalid configuration" in result.stderr


@pytest.mark.parametrize("case", HOSTILE[:20], ids=[case.id for case in HOSTILE[:20]])
def test_hostile_archive_exit_2_without_traceback(tmp_path: Path, case: object) -> None:
    """A hostile or broken archive: exit 2, one line naming the archive and reason, no traceback."""
    from tests.support.archives import Hostile

    assert isinstance(case, Hostile)
    path = tmp_path / "model.tar.gz"
    path.write_bytes(case.build())
    result = invoke("inspect", str(path))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {path}: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_missing_archive(tmp_path: Path) -> None:
    """A path that does not exist: exit 2 naming it."""
    result = invoke("inspect", str(tmp_path / "nope.tar.gz"))
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'nope.tar.gz'}: no such file or directory\n"


def test_directory_with_one_archive(model: Path) -> None:
    """The processing-job layout: a directory holding the archive."""
    result = invoke("inspect", "--json", str(model.parent))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["path"] == str(model)


def test_progress_bar_on_a_terminal(model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal and past the size threshold, a progress bar goes to stderr."""
    monkeypatch.setattr(cli_module, "_stderr_is_terminal", lambda: True)
    monkeypatch.setattr(cli_module, "PROGRESS_MIN_BYTES", 0)
    result = invoke("inspect", "--json", str(model))
    assert result.exit_code == 0, result.output
    assert "inspecting" in result.stderr
    assert json.loads(result.stdout)["size"] == model.stat().st_size


def test_no_progress_bar_when_piped(model: Path) -> None:
    """Not a terminal (as here): stderr stays clean."""
    assert not cli_module._stderr_is_terminal()
    result = invoke("inspect", str(model))
    assert result.stderr == ""


def test_human_sizes() -> None:
    """Sizes read as B, KiB, MiB, GiB."""
    assert cli_module._human_size(5) == "5 B"
    assert cli_module._human_size(1536) == "1.5 KiB"
    assert cli_module._human_size(3 * 1024**2) == "3.0 MiB"
    assert cli_module._human_size(20 * 1024**4) == "20480.0 GiB"


def test_inspect_is_light(model: Path) -> None:
    """`mimsreg inspect` talks to no AWS: it imports neither boto3 nor sagemaker."""
    code = (
        "import contextlib, io\n"
        "from mimsreg.cli import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    try:\n        cli(['inspect', {str(model)!r}])\n    except SystemExit as exc:\n"
        "        assert exc.code == 0, exc.code\n"
    )
    assert heavy_in(modules_after(code)) == set()


def test_inflates_with_zlib_ng_and_the_same_json(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI inflates with zlib-ng when installed; with it disabled the JSON is the same."""
    zlib_ng = pytest.importorskip("zlib_ng.zlib_ng")
    from mimsreg import _inflate

    made: list[int] = []
    real = zlib_ng.decompressobj

    def counting(*args: object, **kwargs: object) -> object:
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(zlib_ng, "decompressobj", counting)
    monkeypatch.delenv(_inflate.DISABLE_ENV, raising=False)
    _inflate._zlib_ng.cache_clear()
    try:
        fast = invoke("inspect", "--json", str(model))
        assert made == [1]
        monkeypatch.setenv(_inflate.DISABLE_ENV, "1")
        slow = invoke("inspect", "--json", str(model))
        assert made == [1]
    finally:
        _inflate._zlib_ng.cache_clear()
    assert fast.exit_code == slow.exit_code == 0, fast.output
    assert fast.stdout == slow.stdout
    assert json.loads(fast.stdout)["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
