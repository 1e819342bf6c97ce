"""The configuration: the seed's defaults, every seed validation rule, and mimsreg's additions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from mimsreg import (
    ApprovalStatus,
    ConfigError,
    Framework,
    ModelRegistrationConfig,
    PlaceholderWarning,
    VariableType,
)
from mimsreg.config import (
    DEFAULT_FRAMEWORK_VERSIONS,
    config_errors,
    derive_group_name,
    normalise_region,
)


def fields_in_error(excinfo: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {error.field for error in config_errors(excinfo.value)}


def test_seed_usage_example_validates_with_enum_values() -> None:
    """The seed's example, written with VariableType members, validates and keeps its order."""
    config = ModelRegistrationConfig(
        framework="xgboost",
        inference_instance_type="ml.m5.large",
        model_owner="my-team-id",
        model_registration_domain="BuyerSellerMessaging",
        model_registration_objective="FraudDetection",
        source_model_inference_content_types=["text/csv"],
        source_model_inference_response_types=["application/json"],
        source_model_inference_output_variable_list={
            "fraud_score": VariableType.NUMERIC,
            "risk_category": VariableType.TEXT,
        },
        source_model_inference_input_variable_list={
            "account_age": VariableType.NUMERIC,
            "transaction_count": VariableType.NUMERIC,
            "country_code": VariableType.TEXT,
        },
    )
    assert config.framework is Framework.XGBOOST
    assert list(config.source_model_inference_input_variable_list) == [
        "account_age",
        "transaction_count",
        "country_code",
    ]
    assert config.placeholder_warnings() == []


def test_seed_defaults_exactly() -> None:
    """Every seed parameter but the objective has the seed's default."""
    with pytest.warns(PlaceholderWarning, match="model_owner"):
        config = ModelRegistrationConfig(model_registration_objective="FraudDetection")
    assert config.framework is Framework.XGBOOST
    assert config.inference_instance_type == "ml.m5.large"
    assert config.inference_entry_point == "inference.py"
    assert config.model_owner == "team id"
    assert config.model_registration_domain == "BuyerSellerMessaging"
    assert config.source_model_inference_content_types == ["text/csv"]
    assert config.source_model_inference_response_types == ["application/json"]
    assert config.source_model_inference_output_variable_list == {
        "legacy-score": VariableType.NUMERIC
    }
    assert config.source_model_inference_input_variable_list == {}
    assert config.region == "us-east-1"
    assert config.approval_status is ApprovalStatus.PENDING_MANUAL_APPROVAL
    assert (config.expected_tps, config.max_latency_in_millisecond) == (2, 800)
    assert config.max_acceptable_error_rate == 0.2
    assert config.resolved_load_test_instance_types == ["ml.m5.large"]


def test_placeholder_owner_warns_but_validates() -> None:
    """The seed's placeholder owner passes validation with a loud warning naming the field."""
    with pytest.warns(PlaceholderWarning, match="model_owner is the placeholder 'team id'"):
        config = ModelRegistrationConfig(model_registration_objective="X", model_owner="team id")
    assert config.placeholder_warnings()


# --- one test per seed rule ---------------------------------------------------------------------


def test_rule_objective_must_be_provided(seed_kwargs: dict[str, Any]) -> None:
    del seed_kwargs["model_registration_objective"]
    with pytest.raises(ValidationError) as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    assert fields_in_error(excinfo) == {"model_registration_objective"}


@pytest.mark.parametrize("blank", ["", "   "])
def test_rule_objective_must_not_be_blank(seed_kwargs: dict[str, Any], blank: str) -> None:
    seed_kwargs["model_registration_objective"] = blank
    with pytest.raises(ValidationError, match="must be provided") as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    assert fields_in_error(excinfo) == {"model_registration_objective"}


@pytest.mark.parametrize("instance_type", ["m5.large", "ml5.large", "ML.m5.large", "ml."])
def test_rule_instance_type_starts_with_ml(seed_kwargs: dict[str, Any], instance_type: str) -> None:
    seed_kwargs["inference_instance_type"] = instance_type
    with pytest.raises(ValidationError) as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    assert fields_in_error(excinfo) == {"inference_instance_type"}


@pytest.mark.parametrize("framework", ["keras", "mxnet", "", "xgboost2"])
def test_rule_framework_is_one_of_four(seed_kwargs: dict[str, Any], framework: str) -> None:
    seed_kwargs["framework"] = framework
    with pytest.raises(ValidationError) as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    assert fields_in_error(excinfo) == {"framework"}


@pytest.mark.parametrize("framework", ["xgboost", "sklearn", "pytorch", "tensorflow", "XGBoost"])
def test_rule_framework_accepts_the_four(seed_kwargs: dict[str, Any], framework: str) -> None:
    seed_kwargs["framework"] = framework
    config = ModelRegistrationConfig(**seed_kwargs)
    assert config.framework.value == framework.lower()
    assert config.resolved_framework_version == DEFAULT_FRAMEWORK_VERSIONS[config.framework]


@pytest.mark.parametrize(
    "field", ["source_model_inference_content_types", "source_model_inference_response_types"]
)
@pytest.mark.parametrize(
    "value",
    [[], ["text/plain"], ["text/csv", "application/json"], ["application/json", "text/csv"]],
)
def test_rule_mime_lists_are_exactly_one_of_two(
    seed_kwargs: dict[str, Any], field: str, value: list[str]
) -> None:
    seed_kwargs[field] = value
    with pytest.raises(ValidationError, match="must be exactly") as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    assert fields_in_error(excinfo) == {field}


@pytest.mark.parametrize(
    "field", ["source_model_inference_content_types", "source_model_inference_response_types"]
)
@pytest.mark.parametrize("value", [["text/csv"], ["application/json"]])
def test_rule_mime_lists_accept_the_two(
    seed_kwargs: dict[str, Any], field: str, value: list[str]
) -> None:
    seed_kwargs[field] = value
    assert getattr(ModelRegistrationConfig(**seed_kwargs), field) == value


def test_rule_at_least_one_output_variable(seed_kwargs: dict[str, Any]) -> None:
    """Checked in the config itself (the original checked only in the builder)."""
    seed_kwargs["source_model_inference_output_variable_list"] = {}
    with pytest.raises(ValidationError, match="at least one output variable") as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    assert fields_in_error(excinfo) == {"source_model_inference_output_variable_list"}


@pytest.mark.parametrize(
    "field",
    ["source_model_inference_output_variable_list", "source_model_inference_input_variable_list"],
)
def test_rule_variable_types_numeric_or_text(seed_kwargs: dict[str, Any], field: str) -> None:
    seed_kwargs[field] = {"x": "BOOLEAN"}
    with pytest.raises(ValidationError) as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    assert fields_in_error(excinfo) == {f"{field}.x"}


def test_variable_types_are_case_insensitive(seed_kwargs: dict[str, Any]) -> None:
    assert VariableType("numeric") is VariableType.NUMERIC
    assert VariableType("Text") is VariableType.TEXT
    seed_kwargs["source_model_inference_input_variable_list"] = {"a": "numeric", "b": "text"}
    config = ModelRegistrationConfig(**seed_kwargs)
    assert config.source_model_inference_input_variable_list == {
        "a": VariableType.NUMERIC,
        "b": VariableType.TEXT,
    }


def test_rule_local_source_dir_must_hold_entry_point(
    seed_kwargs: dict[str, Any], tmp_path: Path
) -> None:
    seed_kwargs["source_dir"] = str(tmp_path)
    with pytest.raises(ValidationError, match=r"inference\.py") as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    assert fields_in_error(excinfo) == {"source_dir"}
    (tmp_path / "inference.py").write_text("def model_fn(d): ...\n")
    assert ModelRegistrationConfig(**seed_kwargs).source_dir == str(tmp_path)


def test_rule_s3_source_dir_is_not_checked(seed_kwargs: dict[str, Any]) -> None:
    seed_kwargs["source_dir"] = "s3://bucket/code/"
    assert ModelRegistrationConfig(**seed_kwargs).source_dir == "s3://bucket/code/"


# --- mimsreg's additions ------------------------------------------------------------------------


def test_all_errors_are_reported_together(seed_kwargs: dict[str, Any]) -> None:
    seed_kwargs.update(
        framework="keras",
        inference_instance_type="m5.large",
        model_registration_objective="",
        source_model_inference_content_types=["text/plain"],
        source_model_inference_output_variable_list={},
        region="Mars",
        unknown_field=1,
    )
    with pytest.raises(ValidationError) as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    assert fields_in_error(excinfo) == {
        "framework",
        "inference_instance_type",
        "model_registration_objective",
        "source_model_inference_content_types",
        "source_model_inference_output_variable_list",
        "region",
        "unknown_field",
    }


def test_legacy_list_of_pairs_is_normalised_in_order(seed_kwargs: dict[str, Any]) -> None:
    seed_kwargs["source_model_inference_input_variable_list"] = [
        ["zeta", "NUMERIC"],
        ["alpha", "text"],
        ("mid", VariableType.NUMERIC),
    ]
    config = ModelRegistrationConfig(**seed_kwargs)
    assert list(config.source_model_inference_input_variable_list.items()) == [
        ("zeta", VariableType.NUMERIC),
        ("alpha", VariableType.TEXT),
        ("mid", VariableType.NUMERIC),
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([["a", "NUMERIC"], ["a", "TEXT"]], "listed more than once"),
        ([["a", "NUMERIC", "extra"]], "must be a \\[name, type\\] pair"),
        (["a"], "must be a \\[name, type\\] pair"),
        ({"": "NUMERIC"}, "invalid variable name"),
        ({"has space": "NUMERIC"}, "invalid variable name"),
        ({"-lead": "NUMERIC"}, "invalid variable name"),
        ({"x" * 129: "NUMERIC"}, "invalid variable name"),
        ({'quote"': "TEXT"}, "invalid variable name"),
    ],
)
def test_bad_variable_names_and_shapes(
    seed_kwargs: dict[str, Any], value: Any, message: str
) -> None:
    seed_kwargs["source_model_inference_input_variable_list"] = value
    with pytest.raises(ValidationError, match=message) as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    assert fields_in_error(excinfo) == {"source_model_inference_input_variable_list"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("NA", "us-east-1"),
        ("eu", "eu-west-1"),
        ("FE", "us-west-2"),
        ("ap-southeast-2", "ap-southeast-2"),
        ("us-gov-west-1", "us-gov-west-1"),
    ],
)
def test_regions_and_legacy_codes(given: str, expected: str) -> None:
    assert normalise_region(given) == expected


@pytest.mark.parametrize("bad", ["", "Mars", "us_east_1", "US-EAST-1", "us-east"])
def test_bad_regions(bad: str) -> None:
    with pytest.raises(ValueError, match="not an AWS region name"):
        normalise_region(bad)


@pytest.mark.parametrize(
    ("domain", "objective"),
    [
        ("BuyerSellerMessaging", "FraudDetection"),
        ("a b", "c/d"),
        ("---", "!!!"),
        ("x" * 80, "y" * 80),
        ("d", "-" * 62 + "z"),
    ],
)
def test_derived_group_names_are_valid(domain: str, objective: str) -> None:
    import re

    name = derive_group_name(domain, objective)
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name), name


def test_explicit_group_name_is_checked(seed_kwargs: dict[str, Any]) -> None:
    seed_kwargs["model_package_group_name"] = "bad_name"
    with pytest.raises(ValidationError) as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    assert fields_in_error(excinfo) == {"model_package_group_name"}
    seed_kwargs["model_package_group_name"] = "good-name-1"
    assert ModelRegistrationConfig(**seed_kwargs).resolved_group_name == "good-name-1"


def test_default_group_name_comes_from_domain_and_objective(seed_kwargs: dict[str, Any]) -> None:
    config = ModelRegistrationConfig(**seed_kwargs)
    assert config.resolved_group_name == "BuyerSellerMessaging-FraudDetection"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("approval_status", "Maybe"),
        ("expected_tps", 0),
        ("max_latency_in_millisecond", -1),
        ("max_acceptable_error_rate", 1.5),
        ("load_test_instance_types", ["m5.large"]),
        ("framework_version", "latest"),
        ("inference_entry_point", "../evil.py"),
        ("inference_entry_point", "inference.sh"),
        ("bucket", {"Mars": "b"}),
    ],
)
def test_other_fields_are_checked(seed_kwargs: dict[str, Any], field: str, value: Any) -> None:
    seed_kwargs[field] = value
    with pytest.raises(ValidationError) as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    assert {f.split(".")[0] for f in fields_in_error(excinfo)} == {field}


def test_bucket_mapping_normalises_region_codes(seed_kwargs: dict[str, Any]) -> None:
    seed_kwargs["bucket"] = {"NA": "models-us", "eu-west-1": "models-eu"}
    config = ModelRegistrationConfig(**seed_kwargs)
    assert config.bucket == {"us-east-1": "models-us", "eu-west-1": "models-eu"}


def test_variable_schema_has_the_seed_shape(seed_kwargs: dict[str, Any]) -> None:
    config = ModelRegistrationConfig(**seed_kwargs)
    assert config.get_variable_schema() == {
        "input": {
            "variables": [
                {"name": "account_age", "type": "NUMERIC"},
                {"name": "transaction_count", "type": "NUMERIC"},
                {"name": "country_code", "type": "TEXT"},
            ]
        },
        "output": {
            "variables": [
                {"name": "fraud_score", "type": "NUMERIC"},
                {"name": "risk_category", "type": "TEXT"},
            ]
        },
    }


# --- files --------------------------------------------------------------------------------------


def test_from_yaml_and_json_files_agree(tmp_path: Path, seed_kwargs: dict[str, Any]) -> None:
    import yaml

    (tmp_path / "c.yaml").write_text(yaml.safe_dump(seed_kwargs, sort_keys=False))
    (tmp_path / "c.json").write_text(json.dumps(seed_kwargs))
    from_yaml = ModelRegistrationConfig.from_file(tmp_path / "c.yaml")
    from_json = ModelRegistrationConfig.from_file(tmp_path / "c.json")
    assert from_yaml == from_json == ModelRegistrationConfig(**seed_kwargs)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("c.yaml", "a: 1\na: 2\n", "duplicate key 'a'"),
        (
            "c.yaml",
            "model_registration_objective: X\nsource_model_inference_input_variable_list:\n"
            "  x: NUMERIC\n  x: TEXT\n",
            "duplicate key 'x'",
        ),
        ("c.json", '{"a": 1, "a": 2}', "duplicate key 'a'"),
        ("c.json", "{not json", "not valid JSON"),
        ("c.yaml", "a: [1, 2\n", "not valid YAML"),
        ("c.yaml", "- a\n- b\n", "must hold a mapping"),
        ("c.toml", "a = 1", "use a .yaml, .yml or .json file"),
        ("c.yaml", "? [a, b]\n: 1\n", "keys must be plain values"),
    ],
)
def test_bad_files_are_config_errors(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        ModelRegistrationConfig.from_file(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        ModelRegistrationConfig.from_file(tmp_path / "absent.yaml")


def test_relative_source_dir_is_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text("")
    (tmp_path / "c.yaml").write_text(
        "model_owner: t\nmodel_registration_objective: X\nsource_dir: code\n"
    )
    config = ModelRegistrationConfig.from_file(tmp_path / "c.yaml")
    assert config.source_dir == str(tmp_path / "code")


def test_config_error_lists_every_field(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("framework: keras\ninference_instance_type: x\n")
    with pytest.raises(ConfigError) as excinfo:
        ModelRegistrationConfig.from_file(tmp_path / "c.yaml")
    assert [e.field for e in excinfo.value.errors] == [
        "framework",
        "inference_instance_type",
        "model_registration_objective",
    ]
    assert str(tmp_path / "c.yaml") in str(excinfo.value)


def test_json_schema_describes_every_field() -> None:
    schema = ModelRegistrationConfig.json_schema()
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["model_registration_objective"]
    assert set(schema["properties"]) == set(ModelRegistrationConfig.model_fields)
    for name, prop in schema["properties"].items():
        assert prop.get("description"), name
    inputs = schema["properties"]["source_model_inference_input_variable_list"]
    assert any(option.get("type") == "array" for option in inputs["anyOf"])


def test_legacy_pairs_with_non_string_names_are_field_errors(seed_kwargs: dict[str, Any]) -> None:
    """Found by the fuzz test: an unhashable name once raised TypeError instead of a field error."""
    seed_kwargs["source_model_inference_output_variable_list"] = [[[], "NUMERIC"]]
    with pytest.raises(ValidationError, match="must be a string") as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    assert fields_in_error(excinfo) == {"source_model_inference_output_variable_list"}


def test_spec_round_trips_and_carries_everything(seed_kwargs: dict[str, Any]) -> None:
    from mimsreg.engine.spec import RegistrationSpec

    seed_kwargs["bucket"] = "models-{region}"
    spec = ModelRegistrationConfig(**seed_kwargs).to_spec()
    assert RegistrationSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert spec.framework_version == "1.7-1"
    assert spec.input_variables[0] == ("account_age", "NUMERIC")
    assert spec.variable_schema() == ModelRegistrationConfig(**seed_kwargs).get_variable_schema()
    assert spec.bucket_for("eu-west-1") == "models-eu-west-1"
    assert spec.metadata_hash() == RegistrationSpec.from_dict(spec.to_dict()).metadata_hash()
    changed = RegistrationSpec.from_dict({**spec.to_dict(), "model_owner": "other"})
    assert changed.metadata_hash() != spec.metadata_hash()


KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
MRK_ID = "mrk-1234abcd12ab34cd56ef1234567890ab"


@pytest.mark.parametrize(
    "key",
    [
        KEY_ID,
        f"arn:aws:kms:us-east-1:123456789012:key/{KEY_ID}",
        "alias/models",
        "arn:aws:kms:eu-west-1:123456789012:alias/models",
        MRK_ID,
        f"arn:aws:kms:us-west-2:123456789012:key/{MRK_ID}",
        f"arn:aws-cn:kms:cn-north-1:123456789012:key/{KEY_ID}",
        f"arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/{KEY_ID}",
        "arn:aws:kms:{region}:123456789012:alias/models",
        "arn:aws-cn:kms:{region}:123456789012:alias/models",
        "arn:aws-us-gov:kms:{region}:123456789012:key/" + KEY_ID,
        "alias/models-{region}",
    ],
)
def test_kms_key_id_accepts_every_key_form(seed_kwargs: dict[str, Any], key: str) -> None:
    """A key id, key ARN, alias name or ARN, multi-Region key, or a {region} template validate."""
    seed_kwargs["kms_key_id"] = key
    assert ModelRegistrationConfig(**seed_kwargs).kms_key_id == key


def test_kms_key_id_mapping_normalises_region_codes(seed_kwargs: dict[str, Any]) -> None:
    """A mapping takes region names and the codes NA/EU/FE, as bucket does; each region its key."""
    eu_key = f"arn:aws:kms:eu-west-1:123456789012:key/{MRK_ID}"
    seed_kwargs["kms_key_id"] = {"NA": "alias/models", "eu-west-1": eu_key}
    config = ModelRegistrationConfig(**seed_kwargs)
    assert config.kms_key_id == {"us-east-1": "alias/models", "eu-west-1": eu_key}
    spec = config.to_spec()
    assert spec.kms_key_for("us-east-1") == "alias/models"
    assert spec.kms_key_for("eu-west-1") == eu_key
    assert spec.kms_key_for("us-west-2") is None


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("my-key", "is not a KMS key"),
        ("arn:aws:s3:::bucket", "is not a KMS key"),
        (f"arn:aws:kms:cn-north-1:123456789012:key/{KEY_ID}", "names partition 'aws'"),
        ({"EU": f"arn:aws:kms:us-east-1:123456789012:key/{KEY_ID}"}, "for region eu-west-1 is in"),
        ({"FE": f"arn:aws:kms:eu-west-1:123456789012:key/{MRK_ID}"}, "replica in us-west-2"),
        ({"EU": "arn:aws:kms:us-east-1:123456789012:alias/models"}, "KMS keys are regional"),
        ({"EU": "alias/models-{region}"}, "a mapping names each region's key as is"),
        ({"Mars": "alias/models"}, "not an AWS region name"),
    ],
)
def test_kms_key_id_refuses_bad_keys_naming_the_field(
    seed_kwargs: dict[str, Any], key: Any, reason: str
) -> None:
    """An unknown form, a partition that is not the region's, or a key ARN (a multi-Region key's
    too) mapped to another region than its own is a field error on kms_key_id with the reason."""
    seed_kwargs["kms_key_id"] = key
    with pytest.raises(ValidationError, match=reason) as excinfo:
        ModelRegistrationConfig(**seed_kwargs)
    assert fields_in_error(excinfo) == {"kms_key_id"}


def test_kms_key_mapping_round_trips_through_the_spec(seed_kwargs: dict[str, Any]) -> None:
    """The processing job reads the mapping back from the spec's JSON, keys per region intact."""
    from mimsreg import RegistrationSpec

    seed_kwargs["kms_key_id"] = {"NA": "alias/a", "EU": "alias/b"}
    spec = ModelRegistrationConfig(**seed_kwargs).to_spec()
    again = RegistrationSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert again.kms_key_for("eu-west-1") == "alias/b"
    assert again.metadata_hash() == spec.metadata_hash()


def test_identity_of_configs_without_a_mapping_is_unchanged(seed_kwargs: dict[str, Any]) -> None:
    """Configs with no key or one plain key keep the metadata hash (so the identity) they had
    before kms_key_id took mappings: re-registering them stays `unchanged`."""
    spec = ModelRegistrationConfig(**seed_kwargs).to_spec()
    with_key = ModelRegistrationConfig(**{**seed_kwargs, "kms_key_id": "alias/models"}).to_spec()
    assert spec.to_dict()["kms_key_id"] is None
    assert with_key.to_dict()["kms_key_id"] == "alias/models"
    # Computed with mimsreg before this change (commit 0795252), with this bucket.
    seed_kwargs["bucket"] = "mimsreg-test-{region}"
    pinned = {
        None: "a4ecdccc16f0563991b39803058a4e866ba2d132d43f46505eeb18df5054dda9",
        "alias/models": "0f7dd819ee196b9f51d9a5db84efb4fcc11655cafad2067809e1dcdfdfb74fb6",
    }
    for key, digest in pinned.items():
        config = ModelRegistrationConfig(**{**seed_kwargs, "kms_key_id": key})
        assert config.to_spec().metadata_hash() == digest
