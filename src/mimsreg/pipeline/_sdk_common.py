"""What the SDK v2 and v3 adapters share: the same steps from the builder's requests.

SDK v3 moved the workflow classes (``sagemaker.workflow`` → ``sagemaker.mlops.workflow`` and
``sagemaker.core.workflow``) but kept their behaviour and arguments, except processing inputs and
outputs, which became pydantic shapes. So one implementation serves both; ``_sdk_v2`` and
``_sdk_v3`` name the classes of their SDK and build the inputs and outputs.

Imports no SDK itself (only boto3 and botocore, which both SDKs bring). Nothing here touches the
network: sessions are ``PipelineSession`` objects (they record step arguments instead of starting
jobs), the role is an ARN (a bare role name would make the SDK call IAM), every S3 location is
explicit, and the code is an ``s3://`` URI (a local file would make the SDK upload it while
rendering; v3's ``FrameworkProcessor`` would also put a timestamp in its key: ``ScriptProcessor``
is used in both).
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import boto3
import botocore.loaders
import botocore.session

from mimsreg.errors import BadInputError
from mimsreg.pipeline._adapter import StepInput, StepRequest

__all__ = ["CommonSdkAdapter"]


@functools.lru_cache(maxsize=1)
def _shared_loader() -> Any:
    return botocore.loaders.create_loader()


def _boto_session(region: str) -> boto3.Session:
    """A new boto3 session whose service models come from one shared, read-only loader.

    A PipelineSession makes six clients; loading their models again for every builder costs
    about 0.3 s, most of a builder's construction time.
    """
    core = botocore.session.get_session()
    core.register_component("data_loader", _shared_loader())
    return boto3.Session(botocore_session=core, region_name=region)


class CommonSdkAdapter:
    """Makes SDK objects from the builder's SDK-neutral requests; a subclass per SDK major
    version names the SDK's classes and functions and builds what differs (processing inputs and
    outputs: keyword arguments in v2, pydantic shapes in v3)."""

    name = "sagemaker-?"
    # The SDK's classes and functions, set by each subclass from its imports.
    PipelineSession: Any
    Session: Any
    ScriptProcessor: Any
    NetworkConfig: Any
    ExecutionVariables: Any
    Join: Any
    Parameter: Any
    ParameterString: Any
    Pipeline: Any
    PropertyFile: Any
    ProcessingStep: Any
    image_uris: Any
    sdk_is_pipeline_variable: Any
    resolve_value_from_config: Any
    role_arn_config_path: Any

    def processing_input(self, item: StepInput) -> Any:
        """One processing input, in the SDK's own shape."""
        raise NotImplementedError

    def processing_output(self, request: StepRequest, destination: Any) -> Any:
        """The results output, uploaded to ``destination`` (a pipeline variable)."""
        raise NotImplementedError

    def making_step(self, session: Any) -> AbstractContextManager[None]:
        """What making a step object needs around it (nothing, unless the SDK says otherwise)."""
        return contextlib.nullcontext()

    def pipeline_session(self, session: Any, region: str, bucket: str | None) -> Any:
        if isinstance(session, self.PipelineSession):
            return session
        if session is None:
            return self.PipelineSession(boto_session=_boto_session(region), default_bucket=bucket)
        if not isinstance(session, self.Session):
            raise BadInputError(
                "sagemaker_session: expected a sagemaker Session or PipelineSession, got "
                f"{type(session).__name__!r}"
            )
        # A plain Session would start a processing job from run(): rebuild it as a
        # PipelineSession with the same boto session, SDK configuration and bucket settings.
        return self.PipelineSession(
            boto_session=session.boto_session,
            sagemaker_client=session.sagemaker_client,
            default_bucket=self.explicit_bucket(session),
            sagemaker_config=session.sagemaker_config,
            default_bucket_prefix=session.default_bucket_prefix,
        )

    def session_region(self, session: Any) -> str:
        return str(session.boto_region_name)

    def explicit_bucket(self, session: Any) -> str | None:
        # Session.default_bucket() would check or create the bucket (S3 and STS calls); the
        # override holds the bucket given to the session or found in the SDK configuration.
        if session is None:
            return None
        bucket = getattr(session, "_default_bucket_name_override", None)
        return str(bucket) if bucket else None

    def bucket_prefix(self, session: Any) -> str | None:
        prefix = getattr(session, "default_bucket_prefix", None)
        return str(prefix) if prefix else None

    def configured_role(self, session: Any) -> str | None:
        role = self.resolve_value_from_config(
            direct_input=None, config_path=self.role_arn_config_path, sagemaker_session=session
        )
        return str(role) if role else None

    def is_pipeline_variable(self, value: Any) -> bool:
        return bool(self.sdk_is_pipeline_variable(value))

    def parameter_default(self, value: Any) -> Any:
        return value.default_value if isinstance(value, self.Parameter) else None

    def processing_image_uri(self, region: str, version: str, instance_type: str) -> str:
        return str(
            self.image_uris.retrieve(
                "sklearn", region, version, py_version="py3", instance_type=instance_type
            )
        )

    def network_isolated(self, network_config: Any) -> bool:
        return getattr(network_config, "enable_network_isolation", False) is True

    def processing_step(self, session: Any, request: StepRequest) -> Any:
        environment: dict[str, Any] = dict(request.environment)
        environment[request.execution_id_env] = self.ExecutionVariables.PIPELINE_EXECUTION_ID
        if request.execution_arn_env:
            environment[request.execution_arn_env] = self.ExecutionVariables.PIPELINE_EXECUTION_ARN
        processor = self.ScriptProcessor(
            role=request.role,
            image_uri=request.image_uri,
            command=list(request.command),
            instance_count=request.instance_count,
            instance_type=request.instance_type,
            volume_size_in_gb=request.volume_size_in_gb,
            volume_kms_key=request.volume_kms_key,
            output_kms_key=request.output_kms_key,
            max_runtime_in_seconds=request.max_runtime_in_seconds,
            base_job_name=request.base_job_name,
            sagemaker_session=session,
            env=environment,
            tags=[{"Key": k, "Value": v} for k, v in request.tags.items()] or None,
            network_config=request.network_config
            or self.NetworkConfig(enable_network_isolation=False),
        )
        if self.network_isolated(processor.network_config):  # also set by SDK defaults files
            raise BadInputError(
                "network_config: network isolation is enabled, but the registration job must "
                "call SageMaker and S3; pass a NetworkConfig with enable_network_isolation=False"
            )
        inputs = [self.processing_input(item) for item in request.inputs]
        destination = self.Join(
            on="/",
            values=[
                request.output.destination_prefix,
                self.ExecutionVariables.PIPELINE_EXECUTION_ID,
                request.name,
            ],
        )
        output = self.processing_output(request, destination)
        with warnings.catch_warnings():
            # Recording arguments instead of starting a job is what we ask of a PipelineSession.
            warnings.filterwarnings(
                "ignore", message="Running within a PipelineSession", category=UserWarning
            )
            step_args = processor.run(
                code=request.code_uri,
                inputs=inputs,
                outputs=[output],
                arguments=list(request.arguments),
            )
        with self.making_step(session):
            return self.ProcessingStep(
                name=request.name,
                step_args=step_args,
                display_name=request.display_name,
                description=request.description,
                cache_config=request.cache_config,
                depends_on=list(request.depends_on) if request.depends_on else None,
                property_files=[
                    self.PropertyFile(
                        name=request.output.property_file,
                        output_name=request.output.name,
                        path=request.output.property_file_path,
                    )
                ],
            )

    def string_parameter(self, name: str, default: str | None) -> Any:
        if default is None:
            return self.ParameterString(name=name)
        return self.ParameterString(name=name, default_value=default)

    def pipeline(
        self, name: str, steps: Sequence[Any], session: Any, parameters: Sequence[Any]
    ) -> Any:
        return self.Pipeline(
            name=name, parameters=list(parameters), steps=list(steps), sagemaker_session=session
        )

    def s3_client(self, session: Any) -> Any:
        return session.boto_session.client("s3", region_name=session.boto_region_name)
