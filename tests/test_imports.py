"""Light imports: `import mimsreg` and the offline commands pull in neither boto3 nor sagemaker."""

from __future__ import annotations

import pytest

from tests.conftest import EXAMPLE_CONFIG
from tests.support.imports import heavy_in, modules_after


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
