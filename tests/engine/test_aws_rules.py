"""Requests SageMaker accepts: metadata and description patterns, instance-type enums, no tags on
versions; and the user's text read back as written (``mimsreg.engine.aws_rules``)."""

from __future__ import annotations

import re
import unicodedata
import warnings
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mimsreg.engine.aws_rules import (
    decode_metadata_value,
    encode_metadata_value,
    entity_description,
    enum_values,
    metadata_text_allowed,
)
from mimsreg.engine.inventory.sagemaker import SageMakerInventory
from mimsreg.errors import RegistryWarning
from tests.support.helpers import make_plan, write_model_archive

# The service model's patterns, as SageMaker applies them (Java regex with Unicode classes).
_METADATA_CATEGORIES = "LZN"
_DESCRIPTION_CATEGORIES = "LMZSNP"


def aws_accepts_metadata(value: str) -> bool:
    """CustomerMetadataValue: length 1-256, ``^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$``."""
    return 1 <= len(value) <= 256 and all(
        unicodedata.category(ch)[0] in _METADATA_CATEGORIES or ch in "_.:/=+-@" for ch in value
    )


def aws_accepts_description(value: str) -> bool:
    """EntityDescription: length 0-1024, ``[\\p{L}\\p{M}\\p{Z}\\p{S}\\p{N}\\p{P}]*``."""
    return len(value) <= 1024 and all(
        unicodedata.category(ch)[0] in _DESCRIPTION_CATEGORIES for ch in value
    )


def test_the_model_patterns_are_the_ones_checked() -> None:
    """The patterns above are the service model's own (so the checks follow AWS's)."""
    model = boto3.client("sagemaker", region_name="us-east-1").meta.service_model
    value = model.shape_for("CustomerMetadataValue").metadata
    assert value["pattern"].startswith(r"([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)$")
    assert (value["min"], value["max"]) == (1, 256)
    description = model.shape_for("EntityDescription").metadata
    assert description["pattern"] == r"[\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]*"
    assert description["max"] == 1024


@pytest.mark.parametrize(
    "text", ["my-team-id", "Buyer & Seller (EU)", "", "b64:looks-encoded", "a\nb", "é" * 300]
)
def test_metadata_values_are_accepted_and_read_back(text: str) -> None:
    """Every value becomes one SageMaker accepts; what fits is read back exactly."""
    encoded = encode_metadata_value(text)
    assert aws_accepts_metadata(encoded)
    if not encoded.startswith("sha256:"):
        assert decode_metadata_value(encoded) == text
    if metadata_text_allowed(text) and 0 < len(text) <= 256 and not text.startswith("b64:"):
        assert encoded == text  # allowed text is kept readable


@given(st.text(max_size=150))
def test_any_text_encodes_losslessly_within_the_pattern(text: str) -> None:
    """Up to 150 characters (base64 of up to 4 bytes each fits 256), lossless and accepted."""
    encoded = encode_metadata_value(text)
    assert aws_accepts_metadata(encoded)
    assert decode_metadata_value(encoded) == text


@given(st.text(max_size=2000))
def test_descriptions_fit_entity_description(text: str) -> None:
    """Control and format characters become spaces; at most 1024 characters."""
    cleaned = entity_description(text)
    assert aws_accepts_description(cleaned)
    assert len(cleaned) == min(len(text), 1024)


def test_enum_values_of_an_unknown_shape_are_none() -> None:
    client = boto3.client("sagemaker", region_name="us-east-1")
    assert enum_values(client, "NoSuchShape") is None
    assert "ml.m5.large" in (enum_values(client, "TransformInstanceType") or ())


def request_for(tmp_path: Path, **changes: Any) -> tuple[dict[str, Any], list[str]]:
    plan = make_plan(write_model_archive(tmp_path / "model.tar.gz"), ["us-east-1"], **changes)
    inventory = SageMakerInventory(session=boto3.Session(region_name="us-east-1"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        request = inventory._request(plan.regions[0], "s3://b/m", "s3://b/s", "s3://b/r", None)
    messages = [str(w.message) for w in caught if issubclass(w.category, RegistryWarning)]
    return request, messages


def test_version_requests_carry_no_tags_and_only_enum_instance_types(tmp_path: Path) -> None:
    """Tags stay on the group; ml.r5.large (real-time only) is not offered for batch transform;
    ml.t3.medium is in neither enum and is left out, with a warning."""
    request, warned = request_for(
        tmp_path,
        tags={"team": "fraud"},
        inference_instance_type="ml.r5.large",
        load_test_instance_types=["ml.r5.large", "ml.t3.medium"],
    )
    assert "Tags" not in request
    specification = request["InferenceSpecification"]
    assert specification["SupportedRealtimeInferenceInstanceTypes"] == ["ml.r5.large"]
    assert "SupportedTransformInstanceTypes" not in specification
    assert warned == []
    request, warned = request_for(tmp_path, inference_instance_type="ml.t3.medium")
    assert "SupportedTransformInstanceTypes" not in request["InferenceSpecification"]
    assert len(warned) == 1
    assert "'ml.t3.medium' is not a real-time inference instance type" in warned[0]


def test_owner_and_a_two_line_description_are_sent_as_sagemaker_accepts(tmp_path: Path) -> None:
    """'Buyer & Seller (EU)' is encoded in the metadata, a newline becomes a space."""
    request, _ = request_for(
        tmp_path, model_owner="Buyer & Seller (EU)", model_package_description="one\ntwo"
    )
    owner = request["CustomerMetadataProperties"]["mimsreg:owner"]
    assert owner.startswith("b64:")
    assert decode_metadata_value(owner) == "Buyer & Seller (EU)"
    assert all(aws_accepts_metadata(v) for v in request["CustomerMetadataProperties"].values())
    assert request["ModelPackageDescription"] == "one two"
    assert re.fullmatch(r"[^\n\t]*", request["ModelPackageDescription"])


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({"aws:team": "x"}, "the 'aws:' prefix is reserved"),
        ({"team": "a;b"}, "at most 256 characters of letters"),
        ({"": "x"}, "1 to 128 characters"),
        ({f"k{i}": "v" for i in range(51)}, "at most 50 tags, got 51"),
    ],
)
def test_tags_aws_would_refuse_are_field_errors(tags: dict[str, str], message: str) -> None:
    """Tags SageMaker refuses are refused in the configuration, naming the field."""
    from mimsreg.config import ModelRegistrationConfig
    from mimsreg.errors import ConfigError
    from tests.conftest import SEED_EXAMPLE

    with pytest.raises(ConfigError) as refused:
        ModelRegistrationConfig.from_mapping({**SEED_EXAMPLE, "tags": tags})
    assert "tags" in str(refused.value)
    assert message in str(refused.value)
    ModelRegistrationConfig.from_mapping({**SEED_EXAMPLE, "tags": {"team": "Buyer Seller EU"}})
