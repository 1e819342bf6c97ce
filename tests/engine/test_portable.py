"""The engine is what the processing job runs: Python 3.9, the standard library, boto3, itself."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from mimsreg.pipeline.bundle import RUNTIME_MODULES
from tests.conftest import REPO_ROOT

ENGINE = REPO_ROOT / "src" / "mimsreg" / "engine"
ALLOWED_THIRD_PARTY = {"boto3", "botocore", "mypy_boto3_s3", "mypy_boto3_sagemaker"}


def engine_modules() -> list[str]:
    """Every module of mimsreg.engine, from its folder."""
    names = []
    for path in sorted(ENGINE.rglob("*.py")):
        parts = ["mimsreg", "engine", *path.relative_to(ENGINE).with_suffix("").parts]
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def imported_modules(path: Path) -> set[str]:
    """Absolute module names a source file imports (at any level, TYPE_CHECKING blocks too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_the_engine_imports_only_the_standard_library_boto3_and_itself() -> None:
    """The import-linter contract names what is forbidden; this names what is allowed."""
    foreign = {}
    for path in ENGINE.rglob("*.py"):
        for name in imported_modules(path):
            top = name.split(".")[0]
            if name == "mimsreg.engine" or name.startswith("mimsreg.engine."):
                continue
            if top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY:
                continue
            foreign.setdefault(str(path.relative_to(ENGINE)), []).append(name)
    assert foreign == {}


def test_the_runtime_bundle_is_the_engine_package() -> None:
    """The bundle's module list is derived from the engine: nothing more (but the package
    holding it), nothing less."""
    assert set(RUNTIME_MODULES) == {"mimsreg", *engine_modules()}


def test_import_mimsreg_does_not_load_pydantic() -> None:
    """The engine must be importable where pydantic is absent (processing images)."""
    code = (
        f"import mimsreg, {', '.join(engine_modules())}\n"
        "import sys, json\nprint(json.dumps(sorted(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout.strip().splitlines()[-1])
    assert not {m for m in modules if m.split(".")[0] in ("pydantic", "click", "yaml")}


def test_every_engine_module_imports_on_python_39(python39: str) -> None:
    """Run by the interpreter of stock SageMaker processing images, with nothing but stdlib."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        f"import {', '.join(engine_modules())}\n"
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


def test_the_register_flow_runs_on_python_39(python39: str, tmp_path: Path) -> None:
    """engine.register (payload, inspection, plan, execution) into the SQLite inventory runs
    under Python 3.9, stdlib only: a second run finds every version unchanged."""
    from tests.support.helpers import seed_spec, write_model_archive

    artifact = write_model_archive(tmp_path / "model.tar.gz")
    spec_json = tmp_path / "spec.json"
    spec_json.write_text(json.dumps(seed_spec().to_dict()))
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1])\n"
        "from pathlib import Path\n"
        "from mimsreg.engine.spec import RegistrationSpec\n"
        "from mimsreg.engine.register import register\n"
        "from mimsreg.engine.inventory.local import LocalInventory\n"
        "spec = RegistrationSpec.from_dict(json.loads(Path(sys.argv[2]).read_text()))\n"
        "def opener(regions):\n"
        "    return LocalInventory(Path(sys.argv[4]))\n"
        "for _ in range(2):\n"
        "    done = register(spec, sys.argv[3], ['us-east-1', 'EU'], opener)\n"
        "    print([r.status for r in done.results])\n"
        "planned = register(spec, sys.argv[3], ['FE'], opener, dry_run=True)\n"
        "print([r.region for r in planned.plan.regions], planned.dry_run, planned.ok)\n"
    )
    args = [str(REPO_ROOT / "src"), str(spec_json), str(artifact), str(tmp_path / "i.db")]
    result = subprocess.run(
        [python39, "-I", "-c", code, *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "['created', 'created']",
        "['unchanged', 'unchanged']",
        "['us-west-2'] True True",
    ]
