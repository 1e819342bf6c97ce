"""Light imports: `import mimsreg` and the offline commands pull in neither boto3 nor sagemaker."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLE_CONFIG

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
