"""The runtime bundle: deterministic bytes, the portable modules, runnable by Python 3.9 alone."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mimsreg.errors import MimsregError
from mimsreg.pipeline import bundle as bundle_module
from mimsreg.pipeline.bundle import RUNTIME_MODULES, build_runtime_bundle, join_key
from tests.conftest import REPO_ROOT


def test_bundle_bytes_are_a_function_of_the_sources() -> None:
    """Two builds give the same bytes, hence the same S3 key and pipeline definition."""
    first, second = build_runtime_bundle(), build_runtime_bundle()
    assert first.data == second.data
    assert first.sha256 == second.sha256
    assert first.key("mimsreg") == f"mimsreg/runtime/sha256/{first.sha256}/mimsreg-runtime.pyz"


def test_bundle_entries_are_normalised() -> None:
    """Sorted names, the zip epoch as time, 0644 files, stored (zlib builds differ)."""
    with zipfile.ZipFile(io.BytesIO(build_runtime_bundle().data)) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.compress_type for info in infos} == {zipfile.ZIP_STORED}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}
    assert "__main__.py" in names
    assert "mimsreg/engine/job.py" in names
    assert "mimsreg/engine/inventory/sagemaker/__init__.py" in names
    assert "mimsreg/engine/inventory/sagemaker/backend.py" in names
    assert "mimsreg/engine/data/images.json" in names
    assert not any(
        name.startswith(("mimsreg/config", "mimsreg/cli", "mimsreg/pipeline")) for name in names
    )


def test_missing_module_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle_module, "RUNTIME_MODULES", (*RUNTIME_MODULES, "mimsreg.absent"))
    with pytest.raises(MimsregError, match=r"'mimsreg\.absent'"):
        build_runtime_bundle()


def test_join_key() -> None:
    assert join_key("/a/", "", "b", "c/") == "a/b/c"


def test_runtime_is_under_the_portable_contract() -> None:
    """import-linter checks the runtime and everything it imports: stdlib and boto3 only."""
    import tomllib

    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = data["tool"]["importlinter"]["contracts"]
    engine = next(c for c in contracts if c["name"].startswith("The engine "))
    assert engine["source_modules"] == ["mimsreg.engine"]


@pytest.fixture(scope="module")
def bundle_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = build_runtime_bundle()
    path = tmp_path_factory.mktemp("bundle") / built.file_name
    path.write_bytes(built.data)
    return path


def test_bundle_runs_on_python_39(python39: str, bundle_file: Path) -> None:
    """`python3 mimsreg-runtime.pyz` is the job's command; -I: no site-packages, no PYTHONPATH."""
    result = subprocess.run(
        [python39, "-I", str(bundle_file), "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: mimsreg-runtime")


def test_every_runtime_module_imports_from_the_bundle_on_python_39(
    python39: str, bundle_file: Path
) -> None:
    """Each module loads from the zip (nothing from the source tree), data files included."""
    code = (
        "import sys, json\n"
        "sys.path.insert(0, sys.argv[1])\n"
        f"modules = {list(RUNTIME_MODULES)!r}\n"
        "for name in modules:\n"
        "    __import__(name)\n"
        "from mimsreg.engine.images import inference_image_uri\n"
        "image = inference_image_uri('xgboost', '1.7-1', 'eu-west-1', 'ml.m5.large')\n"
        "loaded = {n: getattr(m, '__file__', '') for n, m in sys.modules.items()\n"
        "          if n == 'mimsreg' or n.startswith('mimsreg.')}\n"
        "heavy = sorted(n for n in sys.modules if n.split('.')[0] in\n"
        "               ('pydantic', 'click', 'yaml', 'sagemaker', 'boto3', 'botocore'))\n"
        "print(json.dumps({'image': image, 'loaded': loaded, 'heavy': heavy,\n"
        "                  'version': list(sys.version_info[:2])}))\n"
    )
    result = subprocess.run(
        [python39, "-I", "-c", code, str(bundle_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["version"] == [3, 9]
    assert report["image"].endswith("sagemaker-xgboost:1.7-1")
    assert report["heavy"] == []
    assert set(report["loaded"]) == set(RUNTIME_MODULES)
    for name, file in report["loaded"].items():
        assert file.startswith(str(bundle_file)), (name, file)


def test_bundle_help_on_this_python(bundle_file: Path) -> None:
    """The interpreter running the tests can run it too (the e2e test uses Python 3.9)."""
    result = subprocess.run(
        [sys.executable, "-I", str(bundle_file), "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_data_files_of_a_package_without_data() -> None:
    """Only packages with a data folder contribute data files."""
    assert bundle_module.data_files("mimsreg.engine.inventory") == []
    assert [name for name, _ in bundle_module.data_files()] == ["mimsreg/engine/data/images.json"]
