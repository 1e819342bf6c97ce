"""Configurations and code written for the original step: its base pipeline fields accepted and
ignored with one warning, its saved pipeline configuration read, its Python API on the config.

The cases marked "original:" re-express the original's own configuration tests
(``test/pipeline_steps/test_config_mims_registration_step.py`` of TianpeiLuke/nlp-pipeline, see
docs/migration.md) against mimsreg, with the original's configuration data as it was.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from mimsreg.config import (
    ORIGIN_IGNORED_FIELDS,
    ModelRegistrationConfig,
    OriginFieldsWarning,
    VariableType,
    create_inference_variable_list,
)
from mimsreg.errors import ConfigError
from tests.support.cli import invoke

BASE_FIELDS = [
    "author",
    "pipeline_name",
    "pipeline_description",
    "pipeline_version",
    "pipeline_s3_loc",
    "service_name",
]


@pytest.fixture
def original_data(tmp_path: Path) -> dict[str, Any]:
    """The original's test configuration, its base pipeline fields included; ``source_dir``
    is a folder holding its entry point, as the original's ``dockers/xgboost_atoz`` was."""
    source = tmp_path / "xgboost_atoz"
    source.mkdir()
    (source / "inference_xgb.py").write_text("def model_fn(model_dir):\n    return None\n")
    return {
        "region": "NA",
        "author": "test-author",
        "bucket": "test-bucket",
        "pipeline_name": "test-pipeline",
        "pipeline_description": "Test Pipeline Description",
        "pipeline_version": "1.0.0",
        "pipeline_s3_loc": "s3://test-bucket/test-pipeline",
        "role": "arn:aws:iam::000000000000:role/TestRole",
        "service_name": "test-service",
        "model_owner": "test-team",
        "model_registration_domain": "BuyerSellerMessaging",
        "model_registration_objective": "TestObjective",
        "framework": "xgboost",
        "inference_entry_point": "inference_xgb.py",
        "source_dir": str(source),
        "source_model_inference_input_variable_list": {"feature1": "NUMERIC", "feature2": "TEXT"},
        "source_model_inference_output_variable_list": {"score": "NUMERIC"},
    }


def make(data: dict[str, Any]) -> ModelRegistrationConfig:
    """A config from keyword arguments, as the original's tests made them; the base pipeline
    fields warn (once)."""
    with pytest.warns(OriginFieldsWarning) as caught:
        config = ModelRegistrationConfig(**data)
    assert len([w for w in caught if w.category is OriginFieldsWarning]) == 1
    return config


def test_base_pipeline_fields_are_ignored_with_one_warning_naming_them(
    original_data: dict[str, Any],
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = ModelRegistrationConfig(**original_data)
    messages = [str(w.message) for w in caught if w.category is OriginFieldsWarning]
    assert len(messages) == 1
    assert "6 field(s)" in messages[0]
    for name in BASE_FIELDS:
        assert name in messages[0]
    assert "bucket" not in messages[0].split(":", 1)[1]  # a mimsreg field, used
    assert config.bucket == "test-bucket"
    assert config.region == "us-east-1"
    assert config.role == "arn:aws:iam::000000000000:role/TestRole"
    assert not hasattr(config, "author")


def test_every_accepted_name_is_ignored_and_documented(original_data: dict[str, Any]) -> None:
    """The accepted names are exactly the documented list, and each is accepted."""
    migration = (Path(__file__).parent.parent / "docs" / "migration.md").read_text()
    for name in ORIGIN_IGNORED_FIELDS:
        assert f"`{name}`" in migration, name
    extra = {name: "x" for name in ORIGIN_IGNORED_FIELDS if name != "aws_region"}
    make({**original_data, **extra, "aws_region": "us-east-1"})


def test_a_typo_still_fails(original_data: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as excinfo:
        ModelRegistrationConfig.from_mapping({**original_data, "pipline_name": "typo"})
    assert [(e.field, e.message) for e in excinfo.value.errors] == [
        ("pipline_name", "is not a known field (check its spelling)")
    ]


def test_strict_refuses_every_base_field_and_reports_other_errors_too(
    original_data: dict[str, Any],
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        ModelRegistrationConfig.from_mapping({**original_data, "framework": "caffe"}, strict=True)
    fields = {e.field for e in excinfo.value.errors}
    assert fields == {*BASE_FIELDS, "framework"}
    author = next(e for e in excinfo.value.errors if e.field == "author")
    assert "original pipeline framework" in author.message


def test_aws_region_must_agree_with_region(original_data: dict[str, Any]) -> None:
    make({**original_data, "aws_region": "us-east-1"})  # what the original derived from NA
    with pytest.raises(ConfigError) as excinfo:
        ModelRegistrationConfig.from_mapping({**original_data, "aws_region": "eu-west-1"})
    [error] = excinfo.value.errors
    assert error.field == "aws_region"
    assert "contradicts region 'us-east-1'" in error.message


# --- the original's configuration test cases -------------------------------------------------
def test_original_init_with_valid_config(original_data: dict[str, Any]) -> None:
    config = make(original_data)
    assert config.model_owner == "test-team"
    assert config.model_registration_domain == "BuyerSellerMessaging"
    assert config.model_registration_objective == "TestObjective"
    assert config.framework == "xgboost"
    assert config.inference_entry_point == "inference_xgb.py"
    assert config.source_dir == original_data["source_dir"]
    assert config.inference_instance_type == "ml.m5.large"
    assert config.source_model_inference_content_types == ["text/csv"]
    assert config.source_model_inference_response_types == ["application/json"]


def test_original_variable_schema_property(original_data: dict[str, Any]) -> None:
    schema = make(original_data).variable_schema
    assert schema == {
        "input": {
            "variables": [
                {"name": "feature1", "type": "NUMERIC"},
                {"name": "feature2", "type": "TEXT"},
            ]
        },
        "output": {"variables": [{"name": "score", "type": "NUMERIC"}]},
    }


def test_original_input_variables_as_dict_and_as_pairs(original_data: dict[str, Any]) -> None:
    as_dict = {"feature1": VariableType.NUMERIC, "feature2": "TEXT", "feature3": "NUMERIC"}
    config = make({**original_data, "source_model_inference_input_variable_list": as_dict})
    inputs = config.source_model_inference_input_variable_list
    assert inputs == {
        "feature1": VariableType.NUMERIC,
        "feature2": VariableType.TEXT,
        "feature3": VariableType.NUMERIC,
    }
    pairs = [["feature1", "NUMERIC"], ["feature2", "TEXT"], ["feature3", "NUMERIC"]]
    config = make({**original_data, "source_model_inference_input_variable_list": pairs})
    assert [(v["name"], v["type"]) for v in config.variable_schema["input"]["variables"]] == [
        ("feature1", "NUMERIC"),
        ("feature2", "TEXT"),
        ("feature3", "NUMERIC"),
    ]


def test_original_setter_in_both_output_formats(original_data: dict[str, Any]) -> None:
    config = make(original_data)
    config.set_source_model_inference_input_variable_list(
        numeric_fields=["num1", "num2"], text_fields=["text1"], output_format="dict"
    )
    assert config.source_model_inference_input_variable_list == {
        "num1": VariableType.NUMERIC,
        "num2": VariableType.NUMERIC,
        "text1": VariableType.TEXT,
    }
    assert len(config.variable_schema["input"]["variables"]) == 3
    assert config.model_dump()["source_model_inference_input_variable_list"] == {
        "num1": VariableType.NUMERIC,
        "num2": VariableType.NUMERIC,
        "text1": VariableType.TEXT,
    }

    config.set_source_model_inference_input_variable_list(
        numeric_fields=["num3", "num4"], text_fields=["text2"], output_format="list"
    )
    # The one difference (docs/migration.md): the attribute keeps its one shape, the mapping;
    # the list form is what the configuration's dump holds, as the original stored it.
    assert list(config.source_model_inference_input_variable_list.items()) == [
        ("num3", VariableType.NUMERIC),
        ("num4", VariableType.NUMERIC),
        ("text2", VariableType.TEXT),
    ]
    dumped = config.model_dump(mode="json")
    assert dumped["source_model_inference_input_variable_list"] == [
        ["num3", "NUMERIC"],
        ["num4", "NUMERIC"],
        ["text2", "TEXT"],
    ]
    assert [v["name"] for v in dumped["variable_schema"]["input"]["variables"]] == [
        "num3",
        "num4",
        "text2",
    ]
    assert ModelRegistrationConfig.model_validate(dumped).to_spec() == config.to_spec()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"numeric_fields": ["a"], "text_fields": ["a"]}, "both numeric and text"),
        ({"numeric_fields": ["a"], "output_format": "tuple"}, "must be 'dict' or 'list'"),
        ({"numeric_fields": [1]}, "must be strings"),
        ({"numeric_fields": ["a", "a"]}, "more than once"),
        ({"numeric_fields": ["bad name"]}, "invalid variable name"),
    ],
)
def test_setter_refuses_what_the_original_refused_and_changes_nothing(
    original_data: dict[str, Any], arguments: dict[str, Any], message: str
) -> None:
    config = make(original_data)
    before = config.model_dump()
    with pytest.raises(ValueError, match=message):
        config.set_source_model_inference_input_variable_list(**arguments)
    assert config.model_dump() == before


def test_setter_revalidates_what_depends_on_the_inputs(original_data: dict[str, Any]) -> None:
    """Sample values name inputs: replacing the inputs under them fails, and changes nothing."""
    config = make({**original_data, "payload_sample_values": {"feature1": 3}})
    with pytest.raises(ValidationError, match="feature1"):
        config.set_source_model_inference_input_variable_list(numeric_fields=["other"])
    assert list(config.source_model_inference_input_variable_list) == ["feature1", "feature2"]


def test_standalone_helper_in_both_formats() -> None:
    assert create_inference_variable_list(["a"], ["b"]) == {
        "a": VariableType.NUMERIC,
        "b": VariableType.TEXT,
    }
    assert create_inference_variable_list(["a"], ["b"], "list") == [
        ["a", "NUMERIC"],
        ["b", "TEXT"],
    ]
    assert create_inference_variable_list() == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("framework", "invalid-framework"),
        ("inference_instance_type", "invalid-instance-type"),
        ("source_model_inference_content_types", ["invalid/type"]),
        ("source_model_inference_response_types", ["invalid/type"]),
        ("source_model_inference_input_variable_list", "invalid format"),
        ("source_model_inference_input_variable_list", {"feature1": 123}),
        ("source_model_inference_input_variable_list", [["feature1", "NUMERIC", "extra_item"]]),
        ("source_model_inference_input_variable_list", [["feature1", "INVALID_TYPE"]]),
        ("source_model_inference_output_variable_list", {"score": "INVALID_TYPE"}),
    ],
)
def test_original_invalid_values_are_refused(
    original_data: dict[str, Any], field: str, value: Any
) -> None:
    with pytest.raises(ValueError, match=field):  # pydantic's ValidationError is a ValueError
        ModelRegistrationConfig(**{**original_data, field: value})


def test_original_model_dump_holds_the_fields_and_the_variable_schema(
    original_data: dict[str, Any],
) -> None:
    dumped = make(original_data).model_dump()
    for name in (
        "model_owner",
        "model_registration_domain",
        "model_registration_objective",
        "framework",
        "inference_entry_point",
        "source_model_inference_input_variable_list",
        "source_model_inference_output_variable_list",
        "source_model_inference_content_types",
        "source_model_inference_response_types",
    ):
        assert name in dumped
    assert len(dumped["variable_schema"]["input"]["variables"]) == 2
    assert len(dumped["variable_schema"]["output"]["variables"]) == 1


def test_original_s3_source_dir_is_not_checked(original_data: dict[str, Any]) -> None:
    data = {**original_data, "source_dir": "s3://test-bucket/source"}
    assert make({**data, "inference_entry_point": "inference.py"}).source_dir == data["source_dir"]


def test_a_dump_reads_back_and_a_stale_variable_schema_is_refused(
    original_data: dict[str, Any],
) -> None:
    dumped = make(original_data).model_dump(mode="json")
    assert (
        ModelRegistrationConfig.model_validate(dumped).variable_schema == dumped["variable_schema"]
    )
    dumped["variable_schema"]["output"]["variables"] = []
    with pytest.raises(ConfigError) as excinfo:
        ModelRegistrationConfig.from_mapping(dumped)
    assert [e.field for e in excinfo.value.errors] == ["variable_schema"]


# --- the original's saved pipeline configuration ---------------------------------------------
def saved_pipeline(original_data: dict[str, Any], **specific: Any) -> dict[str, Any]:
    """A pipeline configuration as the original's ``merge_and_save_configs`` wrote it: values
    shared by several steps in ``shared`` (fields of other steps among them), each step's own
    under its step name, the step names' classes in ``metadata.config_types``."""
    shared_names = ["region", "author", "bucket", "pipeline_name", "pipeline_description"]
    shared = {name: original_data[name] for name in shared_names}
    shared.update(
        {
            "current_date": "2025-06-25",
            "aws_region": "us-east-1",
            "py_version": "py310",
            "pipeline_version": "1.0.0",
            "pipeline_s3_loc": "s3://test-bucket/test-pipeline",
            "processing_instance_count": 1,  # a processing steps' field, not this step's
        }
    )
    own = {k: v for k, v in original_data.items() if k not in shared and k not in shared_names}
    own.update(specific)
    return {
        "metadata": {
            "created_at": "2025-06-25T10:00:00",
            "config_types": {
                "Base": "BasePipelineConfig",
                "Package": "PackageStepConfig",
                "Registration": "ModelRegistrationConfig",
            },
        },
        "configuration": {
            "shared": shared,
            "processing": {"Package": {"processing_instance_count": 1}},
            "specific": {
                "Package": {"processing_entry_point": "mims_package.py"},
                "Registration": own,
            },
        },
    }


def test_saved_pipeline_configuration_loads_its_registration_step(
    tmp_path: Path, original_data: dict[str, Any]
) -> None:
    path = tmp_path / "config_NA.json"
    saved = saved_pipeline(
        original_data,
        __model_type__="ModelRegistrationConfig",
        variable_schema=make(original_data).variable_schema,
        source_model_inference_output_variable_list={
            "__type_info__": "dict",
            "value": {"score": "NUMERIC"},
        },
    )
    path.write_text(json.dumps(saved))
    with pytest.warns(OriginFieldsWarning, match="current_date"):
        config = ModelRegistrationConfig.from_file(path)
    assert config.to_spec() == make(original_data).to_spec()


def test_saved_pipeline_configuration_typos_in_the_step_fail(
    tmp_path: Path, original_data: dict[str, Any]
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(saved_pipeline(original_data, model_ownr="x")))
    with pytest.raises(ConfigError) as excinfo:
        ModelRegistrationConfig.from_file(path)
    assert [e.field for e in excinfo.value.errors] == ["model_ownr"]
    assert excinfo.value.source == str(path)


def test_saved_pipeline_configuration_without_a_registration_step(
    tmp_path: Path, original_data: dict[str, Any]
) -> None:
    saved = saved_pipeline(original_data)
    del saved["metadata"]["config_types"]["Registration"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(saved))
    with pytest.raises(ConfigError) as excinfo:
        ModelRegistrationConfig.from_file(path)
    [error] = excinfo.value.errors
    assert error.field == "(file)"
    assert "exactly one registration step" in error.message
    assert "Package (PackageStepConfig)" in error.message


def test_cli_validate_shows_the_warning_and_strict_refuses(
    tmp_path: Path, original_data: dict[str, Any]
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(saved_pipeline(original_data)))
    result = invoke("validate", path)
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if "original pipeline framework" in line]
    assert len(warned) == 1
    assert "author" in warned[0]
    shown = invoke("validate", path, "--json")
    assert json.loads(shown.stdout)["warnings"] == [warned[0].removeprefix("warning: ")]
    strict = invoke("validate", path, "--strict")
    assert strict.exit_code == 2
    assert "author: is a field of the original pipeline framework" in strict.stderr
