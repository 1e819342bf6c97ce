"""The original builder's calls: ``create_step(..., payload_s3_key=...)`` and
``create_registration_steps(packaging_step_output, dependencies, payload_s3_key, regions)``.

As the original documented them: the payload is ``s3://<bucket>/<payload_s3_key>`` mounted at
``/opt/ml/processing/mims_payload`` after the model input, and ``create_registration_steps``
returns a dict keyed by region whatever the number of regions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mimsreg.errors import BadInputError
from tests.pipeline.conftest import definition_of, step_arguments

MODEL = "s3://mimsreg-test-us-east-1/packaged/run-1/"
KEY = "mims-payload/run-1/payload.tar.gz"
PAYLOAD_DIR = "/opt/ml/processing/mims_payload"

Builder = Callable[..., Any]


def payload_inputs(builder: Any, steps: list[Any]) -> list[tuple[str, str]]:
    """(S3 URI, local path) of each step's payload input, the model input checked first."""
    definition = definition_of(builder, steps)
    found = []
    for index in range(len(steps)):
        inputs = step_arguments(definition, index)["ProcessingInputs"]
        assert [i["InputName"] for i in inputs][:2] == ["model", "mims_payload"]
        payload = inputs[1]["S3Input"]
        found.append((payload["S3Uri"], payload["LocalPath"]))
    return found


def test_create_step_payload_s3_key_is_a_key_in_the_bucket(make_builder: Builder) -> None:
    builder = make_builder()
    uri = f"s3://mimsreg-test-us-east-1/{KEY}"
    by_key = builder.create_step(MODEL, payload_s3_key=KEY)
    by_uri = builder.create_step(MODEL, payload=uri)
    assert payload_inputs(builder, [by_key]) == [(uri, PAYLOAD_DIR)]
    assert definition_of(builder, [by_key]) == definition_of(builder, [by_uri])


def test_create_registration_steps_always_gives_a_dict_keyed_by_region(
    make_builder: Builder,
) -> None:
    builder = make_builder()
    one = builder.create_registration_steps(MODEL, None, KEY, ["NA"])
    assert isinstance(one, dict)
    assert list(one) == ["us-east-1"]
    assert one["NA"] is one["us-east-1"]
    assert one["us-east-1"].name == "MimsModelRegistration-us-east-1"

    default = builder.create_registration_steps(MODEL)
    assert list(default) == ["us-east-1"]

    several = builder.create_registration_steps(
        packaging_step_output=MODEL,
        dependencies=None,
        payload_s3_key=KEY,
        regions=["us-east-1", "eu-west-1"],
    )
    assert list(several) == ["us-east-1", "eu-west-1"]
    # Every region's job reads the payload from the pipeline region's bucket, as the original.
    assert (
        payload_inputs(builder, list(several.values()))
        == [(f"s3://mimsreg-test-us-east-1/{KEY}", PAYLOAD_DIR)] * 2
    )


def test_create_registration_steps_passes_dependencies_on(make_builder: Builder) -> None:
    builder = make_builder()
    first = builder.create_step(MODEL, step_name="Packaging")
    steps = builder.create_registration_steps(MODEL, [first], None, ["EU"])
    definition = definition_of(builder, [first, *steps.values()])
    registration = definition["Steps"][1]
    assert registration["Name"] == "MimsModelRegistration-eu-west-1"
    assert registration["DependsOn"] == [first.name]
    inputs = step_arguments(definition, 1)["ProcessingInputs"]
    assert "mims_payload" not in [i["InputName"] for i in inputs]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "expected a key"),
        ("s3://other/x.tar.gz", "is not a key"),
        ("/leading/slash.tar.gz", "is not a key"),
        ("k" * 1025, "is not a key"),
    ],
)
def test_bad_payload_keys_are_refused_naming_the_argument(
    make_builder: Builder, key: str, message: str
) -> None:
    with pytest.raises(BadInputError, match=f"payload_s3_key: .*{message}"):
        make_builder().create_step(MODEL, payload_s3_key=key)


def test_payload_and_payload_s3_key_together_are_refused(make_builder: Builder) -> None:
    with pytest.raises(BadInputError, match="give one"):
        make_builder().create_step(
            MODEL, payload="s3://mimsreg-test-us-east-1/p.tar.gz", payload_s3_key=KEY
        )


def test_a_payload_key_given_where_the_regions_go_is_refused(make_builder: Builder) -> None:
    """mimsreg's create_step takes ``regions`` third (the original took the key there): a key
    passed by position fails as a region, never silently."""
    with pytest.raises(BadInputError, match="regions"):
        make_builder().create_step(MODEL, None, KEY)
