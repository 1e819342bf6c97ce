"""The seed document's usage example, as written, after a real packaging step.

Changed only in its import lines (the SDK's classes come from tests/pipeline/sdk.py: v2's
``sagemaker.workflow`` or v3's ``sagemaker.mlops.workflow``). Before it: a packaging
ProcessingStep that produces the output the example reads (``packaged_model_output``), and the
``pipeline`` it adds to. The example
passes neither role nor session: they come from the SageMaker SDK defaults file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.pipeline.conftest import ROLE


@pytest.fixture
def packaging_session() -> Any:
    """The user's pipeline session, in us-east-1."""
    import boto3

    from tests.pipeline.sdk import PipelineSession

    return PipelineSession(
        boto_session=boto3.Session(region_name="us-east-1"), default_bucket="packaging-bucket"
    )


@pytest.fixture
def packaging_step(packaging_session: Any) -> Any:
    """A real packaging step: a scikit-learn processing job writing packaged_model_output."""
    import warnings

    from tests.pipeline.sdk import ProcessingStep, ScriptProcessor, processing_output

    processor = ScriptProcessor(
        role=ROLE,
        image_uri="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
        command=["python3"],
        instance_type="ml.m5.large",
        instance_count=1,
        sagemaker_session=packaging_session,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Running within a PipelineSession")
        step_args = processor.run(
            code="s3://packaging-bucket/code/package.py",
            outputs=[
                processing_output(
                    output_name="packaged_model_output",
                    source="/opt/ml/processing/output/packaged",
                    destination="s3://packaging-bucket/packaged/",
                )
            ],
        )
    return ProcessingStep(name="PackageModel", step_args=step_args)


@pytest.mark.slow  # the SDK validates its defaults file at every lookup: seconds
def test_seed_usage_example(
    packaging_step: Any, packaging_session: Any, sdk_defaults: Callable[..., Any]
) -> None:
    """Both calls of the seed example work: one step for the config's region, and a dict of
    two steps for ["us-east-1", "eu-west-1"] (the original raised there); both render."""
    from mimsreg.pipeline import PipelineDraft

    sdk_defaults(role=ROLE, bucket="mimsreg-sdk-default-bucket")
    pipeline = PipelineDraft("fraud-detection", packaging_session)
    pipeline.add_step(packaging_step)

    # --- the seed example; only the import lines differ ---------------------------------------
    from mimsreg import ModelRegistrationConfig, ModelRegistrationStepBuilder, VariableType

    # Create configuration
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

    # Create builder and step
    builder = ModelRegistrationStepBuilder(config=config)
    registration_step = builder.create_step(
        packaging_step_output=packaging_step.properties.ProcessingOutputConfig.Outputs[
            "packaged_model_output"
        ].S3Output.S3Uri,
        dependencies=[packaging_step],
    )

    # Register in multiple regions
    registration_steps = builder.create_step(
        packaging_step_output=packaging_step.properties.ProcessingOutputConfig.Outputs[
            "packaged_model_output"
        ].S3Output.S3Uri,
        dependencies=[packaging_step],
        regions=["us-east-1", "eu-west-1"],
    )

    # Add to pipeline
    pipeline.add_step(registration_step)
    # --- end of the seed example --------------------------------------------------------------

    single = json.loads(pipeline.definition())
    assert [s["Name"] for s in single["Steps"]] == [
        "PackageModel",
        "MimsModelRegistration-us-east-1",
    ]
    registration = single["Steps"][1]
    assert registration["DependsOn"] == ["PackageModel"]
    assert registration["Arguments"]["RoleArn"] == ROLE
    assert registration["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] == {
        "Get": "Steps.PackageModel.ProcessingOutputConfig.Outputs['packaged_model_output']"
        ".S3Output.S3Uri"
    }

    assert list(registration_steps) == ["us-east-1", "eu-west-1"]
    both = PipelineDraft("fraud-detection-multi", packaging_session)
    both.add_step(packaging_step)
    both.add_step(registration_steps)
    steps = json.loads(both.definition())["Steps"]
    assert [s["Name"] for s in steps] == [
        "PackageModel",
        "MimsModelRegistration-us-east-1",
        "MimsModelRegistration-eu-west-1",
    ]
    regions = [s["Arguments"]["AppSpecification"]["ContainerArguments"][1] for s in steps[1:]]
    assert regions == ["us-east-1", "eu-west-1"]
    assert builder.bucket == "mimsreg-sdk-default-bucket"
