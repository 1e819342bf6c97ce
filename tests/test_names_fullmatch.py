"""Every pattern that validates a name matches it whole: ``$`` also matches before a trailing
newline, so ``"group\\n"`` passed and looked like ``"group"``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from mimsreg.config import ModelRegistrationConfig
from mimsreg.engine import images
from mimsreg.engine.spec import (
    GROUP_NAME_PATTERN,
    KMS_ARN_PATTERN,
    VARIABLE_NAME_PATTERN,
    kms_key_region,
    name_problems,
    partition_of,
)
from mimsreg.errors import BadInputError

KMS_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_dollar_patterns_would_accept_the_newline() -> None:
    """Why: the patterns (kept as AWS documents them) end in ``$``; ``match`` takes "x\\n"."""
    assert GROUP_NAME_PATTERN.match("group\n")
    assert not GROUP_NAME_PATTERN.fullmatch("group\n")
    assert VARIABLE_NAME_PATTERN.match("age\n")
    assert not VARIABLE_NAME_PATTERN.fullmatch("age\n")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("model_package_group_name", "group\n"),
        ("source_model_inference_input_variable_list", {"age\n": "NUMERIC"}),
        ("source_model_inference_output_variable_list", {"score\n": "NUMERIC"}),
        ("inference_instance_type", "ml.m5.large\n"),
        ("load_test_instance_types", ["ml.m5.large\n"]),
        ("framework_version", "1.7-1\n"),
        ("kms_key_id", KMS_ARN + "\n"),
        ("kms_key_id", "alias/models\n"),
    ],
)
def test_config_refuses_a_trailing_newline(
    seed_kwargs: dict[str, Any], field: str, value: Any
) -> None:
    """Each name the configuration validates, with a newline after it, is refused by field."""
    seed_kwargs[field] = value
    with pytest.raises(ValidationError) as caught:
        ModelRegistrationConfig(**seed_kwargs)
    assert caught.value.errors()[0]["loc"][0] == field
    seed_kwargs[field] = value.rstrip("\n") if isinstance(value, str) else None
    if seed_kwargs[field] is not None:
        ModelRegistrationConfig(**seed_kwargs)  # the same value without the newline is fine


def test_engine_spec_names_are_checked_whole(seed_kwargs: dict[str, Any]) -> None:
    """The job's spec check (Python 3.9, no pydantic) refuses "group\\n", a region or a
    variable name with a newline; a spec from a valid configuration has no problem."""
    spec = ModelRegistrationConfig(**seed_kwargs).to_spec()
    assert name_problems(spec) == []
    from dataclasses import replace

    bad = replace(
        spec,
        model_package_group_name="group\n",
        region="us-east-1\n",
        output_variables=(("score\n", "NUMERIC"),),
    )
    problems = name_problems(bad)
    assert len(problems) == 3
    assert "model_package_group_name 'group\\n'" in problems[0]
    assert "region 'us-east-1\\n'" in problems[1]
    assert "output variable name 'score\\n'" in problems[2]


def test_the_job_refuses_a_spec_with_a_newline_in_a_name(
    seed_kwargs: dict[str, Any], tmp_path: Path
) -> None:
    """`mimsreg.engine.job.load_spec` reads the document and refuses it: bad input (exit 2)."""
    from mimsreg.engine.job import load_spec

    data = ModelRegistrationConfig(**seed_kwargs).to_spec().to_dict()
    good = tmp_path / "spec.json"
    good.write_text(json.dumps(data))
    assert load_spec(good).model_package_group_name == data["model_package_group_name"]
    data["model_package_group_name"] += "\n"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(BadInputError, match=r"not valid: model_package_group_name '.*\\n'"):
        load_spec(bad)


def test_engine_helpers_match_whole() -> None:
    """Region partitions, KMS ARNs and instance families: whole strings only."""
    assert partition_of("cn-north-1") == "aws-cn"
    assert partition_of("cn-north-1\n") == "aws"
    assert kms_key_region(KMS_ARN) == "us-east-1"
    assert kms_key_region(KMS_ARN + "\n") is None
    assert KMS_ARN_PATTERN.fullmatch(KMS_ARN)
    assert images._FAMILY_PATTERN.fullmatch("ml.m5.large")
    assert not images._FAMILY_PATTERN.fullmatch("ml.m5.large\n")


def test_pipeline_names_are_checked_whole() -> None:
    """The step builder's step name, instance type and S3 URIs (no SDK needed to check them)."""
    from mimsreg.pipeline.builder import ModelRegistrationStepBuilder, _check_s3_uri

    knobs = ModelRegistrationStepBuilder._check_knobs
    knobs("ml.m5.large", 1, 30, 3600, "Step")
    with pytest.raises(BadInputError, match="step_name"):
        knobs("ml.m5.large", 1, 30, 3600, "Step\n")
    with pytest.raises(BadInputError, match="instance_type"):
        knobs("ml.m5.large\n", 1, 30, 3600, "Step")
    assert _check_s3_uri("s3://bucket/key", "x") == "s3://bucket/key"
    with pytest.raises(BadInputError, match="is not an s3:// URI"):
        _check_s3_uri("s3://bucket/key\n", "x")
