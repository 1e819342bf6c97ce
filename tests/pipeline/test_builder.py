"""ModelRegistrationStepBuilder: steps, names, inputs, validation, role and bucket resolution."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mimsreg.errors import BadInputError, ConfigError, MimsregError, PlanError
from tests.conftest import SEED_EXAMPLE
from tests.pipeline.conftest import ROLE, definition_of, seed_config, step_arguments

MODEL = "s3://mimsreg-test-us-east-1/packaged/run-1/"
PAYLOAD = "s3://mimsreg-test-us-east-1/payload/run-1/payload.tar.gz"

Builder = Callable[..., Any]


def test_one_region_gives_one_processing_step(make_builder: Builder) -> None:
    """Default target: the config's region; the step is named <step_name>-<region>."""
    from tests.pipeline.sdk import ProcessingStep

    step = make_builder().create_step(MODEL)
    assert isinstance(step, ProcessingStep)
    assert step.name == "MimsModelRegistration-us-east-1"


def test_several_regions_give_a_dict_keyed_by_region(make_builder: Builder) -> None:
    """Several regions: {region: step} in the given order; codes index it too; lists on demand."""
    builder = make_builder()
    steps = builder.create_step(MODEL, regions=["EU", "us-east-1"])
    assert isinstance(steps, dict)
    assert list(steps) == ["eu-west-1", "us-east-1"]
    assert steps["EU"] is steps["eu-west-1"]
    assert [s.name for s in steps.values()] == [
        "MimsModelRegistration-eu-west-1",
        "MimsModelRegistration-us-east-1",
    ]
    as_list = builder.create_steps(MODEL, regions=["EU", "us-east-1"])
    assert [s.name for s in as_list] == [s.name for s in steps.values()]
    with pytest.raises(KeyError):
        steps["FE"]
    with pytest.raises(KeyError):
        steps["not a region"]


def test_region_codes_and_names_that_coincide_give_one_step(make_builder: Builder) -> None:
    """NA and us-east-1 name one region: registered once, so one step comes back."""
    step = make_builder().create_step(MODEL, regions=["NA", "us-east-1"])
    assert step.name == "MimsModelRegistration-us-east-1"
    assert make_builder().create_step(MODEL, regions="FE").name.endswith("-us-west-2")


def test_each_step_targets_its_own_region(make_builder: Builder) -> None:
    """The job's arguments name its region; the spec document carries a bucket per region."""
    builder = make_builder()
    steps = builder.create_steps(MODEL, regions=["us-east-1", "eu-west-1"])
    definition = definition_of(builder, steps)
    for index, region in enumerate(["us-east-1", "eu-west-1"]):
        args = step_arguments(definition, index)["AppSpecification"]["ContainerArguments"]
        assert args[args.index("--region") + 1] == region
        assert builder.spec.bucket_for(region) == f"mimsreg-test-{region}"


def test_inputs_model_first_then_payload_spec_and_code(make_builder: Builder) -> None:
    """Model at /opt/ml/processing/input/model first, payload at .../mims_payload; both
    FullyReplicated File inputs, like the original."""
    builder = make_builder()
    definition = definition_of(builder, [builder.create_step(MODEL, payload=PAYLOAD)])
    inputs = step_arguments(definition)["ProcessingInputs"]
    assert [i["InputName"] for i in inputs] == ["model", "mims_payload", "mimsreg_spec", "code"]
    model, payload = inputs[0]["S3Input"], inputs[1]["S3Input"]
    assert (model["S3Uri"], model["LocalPath"]) == (MODEL, "/opt/ml/processing/input/model")
    assert (payload["S3Uri"], payload["LocalPath"]) == (PAYLOAD, "/opt/ml/processing/mims_payload")
    for item in inputs:
        assert item["S3Input"]["S3DataDistributionType"] == "FullyReplicated"
        assert item["S3Input"]["S3InputMode"] == "File"
    args = step_arguments(definition)["AppSpecification"]["ContainerArguments"]
    assert args[args.index("--payload-dir") + 1] == "/opt/ml/processing/mims_payload"


def test_without_payload_there_is_no_payload_input(make_builder: Builder) -> None:
    builder = make_builder()
    definition = definition_of(builder, [builder.create_step(MODEL)])
    inputs = step_arguments(definition)["ProcessingInputs"]
    assert [i["InputName"] for i in inputs] == ["model", "mimsreg_spec", "code"]
    assert (
        "--payload-dir" not in step_arguments(definition)["AppSpecification"]["ContainerArguments"]
    )


def test_job_runs_the_bundle_in_the_stock_sklearn_image(make_builder: Builder) -> None:
    """python3 runs the content-addressed bundle; the image is the pipeline region's sklearn."""
    builder = make_builder()
    definition = definition_of(builder, [builder.create_step(MODEL, regions=["eu-west-1"])])
    app = step_arguments(definition)["AppSpecification"]
    assert app["ImageUri"].endswith(
        ".dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )
    assert app["ContainerEntrypoint"] == [
        "python3",
        "/opt/ml/processing/input/code/mimsreg-runtime.pyz",
    ]
    code = step_arguments(definition)["ProcessingInputs"][-1]["S3Input"]["S3Uri"]
    assert code == builder.runtime_uri
    assert builder.bundle.sha256 in code
    args = app["ContainerArguments"]
    assert args[args.index("--spec-sha256") + 1] == builder.spec_sha256
    assert args[args.index("--bundle-sha256") + 1] == builder.bundle.sha256
    assert builder.spec_sha256 in builder.spec_uri


def test_execution_id_reaches_the_job(make_builder: Builder) -> None:
    """The pipeline execution id and ARN travel as MIMSREG_PIPELINE_EXECUTION_ID/_ARN, for
    lineage (the ARN becomes the version's MetadataProperties.GeneratedBy)."""
    builder = make_builder()
    definition = definition_of(builder, [builder.create_step(MODEL)])
    assert step_arguments(definition)["Environment"] == {
        "MIMSREG_PIPELINE_EXECUTION_ID": {"Get": "Execution.PipelineExecutionId"},
        "MIMSREG_PIPELINE_EXECUTION_ARN": {"Get": "Execution.PipelineExecutionArn"},
    }


def test_results_output_is_explicit_per_execution_and_step(make_builder: Builder) -> None:
    builder = make_builder()
    definition = definition_of(builder, [builder.create_step(MODEL)])
    output = step_arguments(definition)["ProcessingOutputConfig"]["Outputs"][0]
    assert output["S3Output"]["S3Uri"] == {
        "Std:Join": {
            "On": "/",
            "Values": [
                "s3://mimsreg-test-us-east-1/mimsreg/results",
                {"Get": "Execution.PipelineExecutionId"},
                "MimsModelRegistration-us-east-1",
            ],
        }
    }
    assert definition["Steps"][0]["PropertyFiles"][0]["FilePath"] == "results.json"


def test_defaults_of_the_processing_knobs(make_builder: Builder) -> None:
    """ml.m5.large, one instance, 30 GB, one hour, network isolation off."""
    builder = make_builder()
    arguments = step_arguments(definition_of(builder, [builder.create_step(MODEL)]))
    assert arguments["ProcessingResources"]["ClusterConfig"] == {
        "InstanceType": "ml.m5.large",
        "InstanceCount": 1,
        "VolumeSizeInGB": 30,
    }
    assert arguments["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert arguments["NetworkConfig"] == {"EnableNetworkIsolation": False}
    assert arguments["RoleArn"] == ROLE


def test_processing_knobs_reach_the_definition(make_builder: Builder) -> None:
    """Instance, volume, runtime, KMS keys, VPC settings and caching are passed through."""
    from tests.pipeline.sdk import CacheConfig, NetworkConfig

    builder = make_builder(
        instance_type="ml.c5.xlarge",
        instance_count=2,
        volume_size_in_gb=50,
        max_runtime_in_seconds=600,
        volume_kms_key="arn:aws:kms:us-east-1:111111111111:key/volume",
        output_kms_key="arn:aws:kms:us-east-1:111111111111:key/output",
        network_config=NetworkConfig(subnets=["subnet-1"], security_group_ids=["sg-1"]),
        cache_config=CacheConfig(enable_caching=True, expire_after="P30D"),
    )
    definition = definition_of(builder, [builder.create_step(MODEL)])
    arguments = step_arguments(definition)
    cluster = arguments["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceType"] == "ml.c5.xlarge"
    assert cluster["InstanceCount"] == 2
    assert cluster["VolumeSizeInGB"] == 50
    assert cluster["VolumeKmsKeyId"].endswith("key/volume")
    assert arguments["ProcessingOutputConfig"]["KmsKeyId"].endswith("key/output")
    assert arguments["StoppingCondition"] == {"MaxRuntimeInSeconds": 600}
    assert arguments["NetworkConfig"]["VpcConfig"] == {
        "Subnets": ["subnet-1"],
        "SecurityGroupIds": ["sg-1"],
    }
    assert definition["Steps"][0]["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}


def test_network_isolation_is_refused(make_builder: Builder) -> None:
    """The job must call SageMaker and S3: an isolated network would fail it at run time."""
    from tests.pipeline.sdk import NetworkConfig

    with pytest.raises(BadInputError, match="network isolation"):
        make_builder(network_config=NetworkConfig(enable_network_isolation=True))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"instance_type": "m5.large"}, "instance_type"),
        ({"instance_count": 0}, "instance_count"),
        ({"volume_size_in_gb": True}, "volume_size_in_gb"),
        ({"max_runtime_in_seconds": 10**7}, "max_runtime_in_seconds"),
        ({"step_name": "Register model"}, "step_name"),
        ({"step_name": "x" * 49}, "step_name"),
    ],
)
def test_bad_knobs_are_refused(make_builder: Builder, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        make_builder(**kwargs)


def test_custom_step_name(make_builder: Builder) -> None:
    """step_name= on the builder or per call; names stay within SageMaker's 64 characters."""
    builder = make_builder(step_name="Register")
    assert builder.create_step(MODEL).name == "Register-us-east-1"
    assert builder.create_step(MODEL, step_name="Again").name == "Again-us-east-1"
    with pytest.raises(BadInputError, match="step name"):
        builder.create_step(MODEL, step_name="y" * 60)


@pytest.mark.parametrize(
    "source",
    ["https://example.com/model.tar.gz", "s3://", "s3://Bad_Bucket/x", "/local/model.tar.gz"],
)
def test_plain_strings_must_be_s3_uris(make_builder: Builder, source: str) -> None:
    with pytest.raises(BadInputError, match="packaging_step_output"):
        make_builder().create_step(source)


def test_other_types_are_refused(make_builder: Builder) -> None:
    with pytest.raises(BadInputError, match="pipeline parameter"):
        make_builder().create_step(42)
    with pytest.raises(BadInputError, match="payload"):
        make_builder().create_step(MODEL, payload=b"s3://bucket/x")


def test_pipeline_parameters_and_step_properties_are_accepted(make_builder: Builder) -> None:
    """A ParameterString (its default checked) or a step property resolve at execution time."""
    from tests.pipeline.sdk import ParameterString

    builder = make_builder()
    parameter = ParameterString(name="PackagedModel", default_value=MODEL)
    step = builder.create_step(parameter)
    definition = definition_of(builder, [step])
    assert step_arguments(definition)["ProcessingInputs"][0]["S3Input"]["S3Uri"] == {
        "Get": "Parameters.PackagedModel"
    }
    with pytest.raises(BadInputError, match="parameter default"):
        builder.create_step(ParameterString(name="Bad", default_value="model.tar.gz"))
    later = builder.create_step(
        step.properties.ProcessingOutputConfig.Outputs["results"].S3Output.S3Uri, step_name="Later"
    )
    assert later.name == "Later-us-east-1"


def test_dependencies_become_depends_on(make_builder: Builder) -> None:
    builder = make_builder()
    first = builder.create_step(MODEL, step_name="First")
    other = builder.create_step(MODEL, step_name="Other")
    second = builder.create_step(MODEL, dependencies=[first, "Other-us-east-1"], step_name="Second")
    definition = definition_of(builder, [first, other, second])
    assert definition["Steps"][2]["DependsOn"] == ["First-us-east-1", "Other-us-east-1"]


def test_unknown_region_fails_before_any_step(make_builder: Builder) -> None:
    """An unknown region is a PlanError from create_step, naming the value."""
    with pytest.raises(PlanError, match="'moon-1'"):
        make_builder().create_step(MODEL, regions=["us-east-1", "moon-1"])
    with pytest.raises(PlanError, match="empty"):
        make_builder().create_step(MODEL, regions=[])


def test_inference_image_checked_per_target_region(make_builder: Builder) -> None:
    """A framework version without an inference image in a target region fails at build time."""
    builder = make_builder(seed_config(framework_version="0.1-0"))
    with pytest.raises(PlanError, match=r"0\.1-0"):
        builder.create_step(MODEL)


def test_image_resolver_can_be_injected(make_builder: Builder) -> None:
    seen: list[tuple[str, ...]] = []

    def resolver(framework: str, version: str, region: str, instance_type: str) -> str:
        seen.append((framework, version, region, instance_type))
        return "image"

    make_builder(image_resolver=resolver).create_step(MODEL, regions=["NA", "EU"])
    assert seen == [
        ("xgboost", "1.7-1", "us-east-1", "ml.m5.large"),
        ("xgboost", "1.7-1", "eu-west-1", "ml.m5.large"),
    ]


def test_bad_configuration_mapping_raises_config_error(make_builder: Builder) -> None:
    """A mapping or file is validated: every field error at once, before any step."""
    from mimsreg.pipeline import ModelRegistrationStepBuilder

    bad = {**SEED_EXAMPLE, "framework": "caffe", "inference_instance_type": "m5"}
    with pytest.raises(ConfigError) as caught:
        ModelRegistrationStepBuilder(bad)
    assert {e.field for e in caught.value.errors} == {"framework", "inference_instance_type"}
    with pytest.raises(BadInputError, match="config"):
        ModelRegistrationStepBuilder(42)  # type: ignore[arg-type]


def test_configuration_forms(tmp_path: Any) -> None:
    """A mapping, a file path or a RegistrationSpec work like the config object."""
    import json

    from mimsreg.pipeline import ModelRegistrationStepBuilder

    data = {**SEED_EXAMPLE, "role": ROLE, "bucket": "mimsreg-test-{region}"}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    from_mapping = ModelRegistrationStepBuilder(data)
    from_file = ModelRegistrationStepBuilder(path)
    from_spec = ModelRegistrationStepBuilder(seed_config().to_spec(), role=ROLE)
    assert from_mapping.spec_sha256 == from_file.spec_sha256 == from_spec.spec_sha256


# --- role --------------------------------------------------------------------------------------
def test_role_precedence(make_builder: Builder, sdk_defaults: Callable[..., Any]) -> None:
    """role= beats the config's role, which beats SageMaker.ProcessingJob.RoleArn of the SDK."""
    sdk_defaults(role="arn:aws:iam::111111111111:role/from-sdk")
    assert make_builder(role="arn:aws:iam::111111111111:role/arg").role.endswith("/arg")
    assert make_builder().role == ROLE
    assert make_builder(seed_config(role=None)).role.endswith("/from-sdk")


def test_missing_role_is_a_clear_error(make_builder: Builder) -> None:
    with pytest.raises(BadInputError, match=r"role: no IAM role.*SAGEMAKER_USER_CONFIG_OVERRIDE"):
        make_builder(seed_config(role=None))


def test_role_must_be_an_arn(make_builder: Builder) -> None:
    """A bare role name would make the SDK call IAM while rendering."""
    with pytest.raises(BadInputError, match="not an IAM role ARN"):
        make_builder(role="MyRole")


# --- buckets -----------------------------------------------------------------------------------
def test_bucket_precedence(make_builder: Builder, sdk_defaults: Callable[..., Any]) -> None:
    """bucket= beats the config's bucket, which beats the session's explicit default bucket."""
    from tests.pipeline.sdk import PipelineSession

    sdk_defaults(bucket="sdk-default-bucket")
    assert make_builder(bucket="arg-{region}").bucket == "arg-us-east-1"
    assert make_builder().bucket == "mimsreg-test-us-east-1"
    assert make_builder(seed_config(bucket=None)).bucket == "sdk-default-bucket"
    session = PipelineSession(default_bucket="session-bucket")
    assert make_builder(seed_config(bucket=None), sagemaker_session=session).bucket == (
        "session-bucket"
    )


def test_missing_bucket_is_a_clear_error(make_builder: Builder) -> None:
    with pytest.raises(BadInputError, match=r"region 'us-east-1'.*pipeline's region"):
        make_builder(seed_config(bucket=None))


def test_bucket_mapping_must_cover_every_target_region(make_builder: Builder) -> None:
    builder = make_builder(bucket={"NA": "models-na"})
    assert builder.bucket == "models-na"
    with pytest.raises(PlanError, match="no S3 bucket for region 'eu-west-1'"):
        builder.create_step(MODEL, regions=["NA", "EU"])


def test_s3_prefix(make_builder: Builder) -> None:
    """Files go under s3_prefix, after the session's default key prefix when it has one."""
    from tests.pipeline.sdk import PipelineSession

    assert "/custom/runtime/" in make_builder(s3_prefix="/custom/").runtime_uri
    session = PipelineSession(default_bucket_prefix="team-a")
    builder = make_builder(sagemaker_session=session)
    assert builder.runtime_uri.startswith("s3://mimsreg-test-us-east-1/team-a/mimsreg/runtime/")


# --- sessions ----------------------------------------------------------------------------------
def test_session_region_is_the_pipeline_region(make_builder: Builder) -> None:
    """The steps run in the session's region; targets default to the config's region."""
    import boto3

    from tests.pipeline.sdk import PipelineSession

    session = PipelineSession(boto_session=boto3.Session(region_name="eu-west-1"))
    builder = make_builder(sagemaker_session=session)
    assert builder.pipeline_region == "eu-west-1"
    assert builder.session is session
    assert builder.bucket == "mimsreg-test-eu-west-1"
    definition = definition_of(builder, [builder.create_step(MODEL)])
    app = step_arguments(definition)["AppSpecification"]
    assert ".dkr.ecr.eu-west-1." in app["ImageUri"]
    assert app["ContainerArguments"][1] == "us-east-1"


def test_plain_session_is_rebuilt_as_a_pipeline_session(make_builder: Builder) -> None:
    """A plain Session would start a job from run(): steps are recorded instead."""
    import boto3

    from tests.pipeline.sdk import PipelineSession, Session

    plain = Session(boto_session=boto3.Session(region_name="us-west-2"), default_bucket="plain-b")
    builder = make_builder(seed_config(bucket=None), sagemaker_session=plain)
    assert isinstance(builder.session, PipelineSession)
    assert builder.pipeline_region == "us-west-2"
    assert builder.bucket == "plain-b"
    with pytest.raises(BadInputError, match="sagemaker_session"):
        make_builder(sagemaker_session="us-east-1")


def test_unknown_processing_image_region(make_builder: Builder) -> None:
    """A pipeline region without the scikit-learn image needs processing_image_uri=."""
    import boto3

    from tests.pipeline.sdk import PipelineSession

    session = PipelineSession(boto_session=boto3.Session(region_name="ap-southeast-7"))
    with pytest.raises(PlanError, match="processing_image_uri"):
        make_builder(sagemaker_session=session)
    custom = make_builder(sagemaker_session=session, processing_image_uri="my/image:1")
    assert custom.processing_image_uri == "my/image:1"


@pytest.mark.parametrize(
    ("version", "python"), [("0.20.0", "3.7"), ("0.23-1", "3.7"), ("1.0-1", "3.8")]
)
def test_processing_images_older_than_python_39_are_refused(
    make_builder: Builder, version: str, python: str
) -> None:
    """A scikit-learn image whose Python cannot run the job is refused when the builder is made,
    naming its Python and the versions that work, not hours later in the job."""
    with pytest.raises(PlanError, match=rf"Python {python}.*1\.2-1, 1\.4-2") as caught:
        make_builder(processing_framework_version=version)
    assert "processing_framework_version" in str(caught.value)


def test_a_newer_processing_image_can_be_chosen(make_builder: Builder) -> None:
    """1.4-2 (Python 3.10) is rendered as its image; the job's boto3 is the same 1.28.57."""
    builder = make_builder(processing_framework_version="1.4-2")
    assert builder.processing_image_uri.endswith("sagemaker-scikit-learn:1.4-2-cpu-py3")


# --- pipelines ---------------------------------------------------------------------------------
def test_pipeline_draft_takes_steps_lists_and_region_dicts(make_builder: Builder) -> None:
    """The seed's pipeline.add_step() accepts one step, a list, or the {region: step} dict."""
    from mimsreg.pipeline import PipelineDraft

    builder = make_builder()
    draft = PipelineDraft("fraud", builder.session)
    draft.add_step(builder.create_step(MODEL, step_name="One"))
    draft.add_step(builder.create_step(MODEL, regions=["NA", "EU"], step_name="Two"))
    draft.add_step([builder.create_step(MODEL, step_name="Three")])
    names = [step["Name"] for step in __import__("json").loads(draft.definition())["Steps"]]
    assert names == ["One-us-east-1", "Two-us-east-1", "Two-eu-west-1", "Three-us-east-1"]


def test_mimsreg_errors_are_one_tree(make_builder: Builder) -> None:
    """Everything the builder raises on purpose is a MimsregError."""
    with pytest.raises(MimsregError):
        make_builder(seed_config(role=None))


def test_network_isolation_from_sdk_defaults_is_refused(
    make_builder: Builder, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SDK defaults file that isolates processing jobs is caught when the step is made."""
    path = tmp_path / "isolating.yaml"
    path.write_text(
        "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n"
        "      TelemetryOptOut: true\n  ProcessingJob:\n    NetworkConfig:\n"
        "      EnableNetworkIsolation: true\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(path))
    from tests.pipeline.sdk import NetworkConfig

    builder = make_builder(network_config=NetworkConfig(subnets=["subnet-1"]))
    with pytest.raises(BadInputError, match="network isolation"):
        builder.create_step(MODEL)


def test_adapter_without_session_has_no_bucket() -> None:
    from mimsreg.pipeline._adapter import load_adapter

    assert load_adapter().explicit_bucket(None) is None


def test_bucket_mapping_with_an_unknown_region(make_builder: Builder) -> None:
    with pytest.raises(BadInputError, match="bucket: 'Atlantis'"):
        make_builder(bucket={"Atlantis": "b"})
