"""Light imports: `import mimsreg` and the offline commands pull in neither boto3 nor sagemaker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_CONFIG, REPO_ROOT

HEAVY = ("boto3", "botocore", "sagemaker")


def modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = (
        subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    return set(json.loads(out))


def heavy_in(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY}


def test_import_mimsreg_is_light() -> None:
    assert heavy_in(modules_after("import mimsreg")) == set()


def test_pipeline_builder_name_is_light_until_a_builder_is_made() -> None:
    """`from mimsreg import ModelRegistrationStepBuilder` loads no SDK, boto3 nor pydantic."""
    code = "from mimsreg import ModelRegistrationStepBuilder\nimport mimsreg.pipeline"
    modules = modules_after(code)
    assert heavy_in(modules) == set()
    assert "pydantic" not in {m.split(".")[0] for m in modules}
    assert "mimsreg.pipeline.builder" in modules
    assert not {"mimsreg.pipeline._sdk_v2", "mimsreg.pipeline._sdk_v3"} & set(modules)


@pytest.mark.parametrize(
    "args",
    [["validate", str(EXAMPLE_CONFIG)], ["schema", str(EXAMPLE_CONFIG)], ["config-schema"]],
)
def test_offline_commands_are_light(args: list[str]) -> None:
    code = (
        "import sys, contextlib, io\n"
        "from mimsreg.cli import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    try:\n        cli({args!r})\n    except SystemExit as exc:\n"
        "        assert exc.code == 0, exc.code\n"
    )
    assert heavy_in(modules_after(code)) == set()


def test_import_mimsreg_does_not_load_pydantic() -> None:
    """The portable modules must be importable where pydantic is absent (processing images)."""
    modules = modules_after(
        "import mimsreg, mimsreg.engine.spec, mimsreg.engine.package, mimsreg.errors"
    )
    assert not {m for m in modules if m.split(".")[0] in ("pydantic", "click", "yaml")}


PORTABLE_MODULES = [
    "mimsreg.engine.spec",
    "mimsreg.errors",
    "mimsreg.engine.package",
    "mimsreg.engine.images",
    "mimsreg.engine.plan",
    "mimsreg.engine.execute",
    "mimsreg.engine.inventory",
    "mimsreg.engine.inventory.base",
    "mimsreg.engine.inventory.create_lock",
    "mimsreg.engine.inventory.gc",
    "mimsreg.engine.inventory.local",
    "mimsreg.engine.inventory.sagemaker",
    "mimsreg.engine.job",
]


def test_portable_modules_import_on_python_39(python39: str) -> None:
    """Run by the interpreter of stock SageMaker processing images, with nothing but stdlib."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        f"import {', '.join(PORTABLE_MODULES)}\n"
        "from mimsreg.engine.spec import normalise_region\n"
        "assert normalise_region('EU') == 'eu-west-1'\n"
        "assert 'pydantic' not in sys.modules\n"
        "print(sys.version_info[:2])\n"
    )
    src = str(REPO_ROOT / "src")
    result = subprocess.run(
        [python39, "-I", "-c", code, src], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(3, 9)"


def test_plan_and_local_registration_run_on_python_39(python39: str, tmp_path: Path) -> None:
    """The pure plan, the executor and the SQLite inventory run under Python 3.9, stdlib only."""
    from tests.helpers import seed_spec, write_model_archive

    artifact = write_model_archive(tmp_path / "model.tar.gz")
    spec_json = tmp_path / "spec.json"
    spec_json.write_text(json.dumps(seed_spec().to_dict()))
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1])\n"
        "from pathlib import Path\n"
        "from mimsreg.engine.spec import RegistrationSpec\n"
        "from mimsreg.engine.package import inspect_package\n"
        "from mimsreg.engine.plan import build_plan\n"
        "from mimsreg.engine.execute import execute_plan\n"
        "from mimsreg.engine.inventory.local import LocalInventory\n"
        "spec = RegistrationSpec.from_dict(json.loads(Path(sys.argv[2]).read_text()))\n"
        "manifest = inspect_package(sys.argv[3], entry_point=spec.inference_entry_point)\n"
        "plan = build_plan(spec, manifest, ['us-east-1', 'EU'])\n"
        "with LocalInventory(Path(sys.argv[4])) as inventory:\n"
        "    for _ in range(2):\n"
        "        print([r.status for r in execute_plan(plan, inventory, manifest.path)])\n"
    )
    args = [str(REPO_ROOT / "src"), str(spec_json), str(artifact), str(tmp_path / "i.db")]
    result = subprocess.run(
        [python39, "-I", "-c", code, *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "['created', 'created']",
        "['unchanged', 'unchanged']",
    ]
