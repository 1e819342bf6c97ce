"""The SageMaker Python SDK v2 adapter (``sagemaker>=2.200,<3``, the ``sagemaker.workflow`` API).

With ``_sdk_v3``, the only modules of mimsreg that import ``sagemaker``. The steps are built by
``_sdk_common.CommonSdkAdapter``; this names v2's classes and makes its processing inputs and
outputs (keyword arguments).
"""

from __future__ import annotations

from typing import Any

from sagemaker import image_uris
from sagemaker.config.config_schema import PROCESSING_JOB_ROLE_ARN_PATH
from sagemaker.network import NetworkConfig
from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
from sagemaker.session import Session
from sagemaker.utils import resolve_value_from_config
from sagemaker.workflow import is_pipeline_variable
from sagemaker.workflow.execution_variables import ExecutionVariables
from sagemaker.workflow.functions import Join
from sagemaker.workflow.parameters import Parameter, ParameterString
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.properties import PropertyFile
from sagemaker.workflow.steps import ProcessingStep

from mimsreg.pipeline._adapter import StepInput, StepRequest
from mimsreg.pipeline._sdk_common import CommonSdkAdapter

__all__ = ["SdkV2Adapter"]


class SdkV2Adapter(CommonSdkAdapter):
    """Makes SDK v2 objects from the builder's SDK-neutral requests."""

    name = "sagemaker-v2"
    PipelineSession = PipelineSession
    Session = Session
    ScriptProcessor = ScriptProcessor
    NetworkConfig = NetworkConfig
    ExecutionVariables = ExecutionVariables
    Join = Join
    Parameter = Parameter
    ParameterString = ParameterString
    Pipeline = Pipeline
    PropertyFile = PropertyFile
    ProcessingStep = ProcessingStep
    image_uris = image_uris
    sdk_is_pipeline_variable = staticmethod(is_pipeline_variable)
    resolve_value_from_config = staticmethod(resolve_value_from_config)
    role_arn_config_path = PROCESSING_JOB_ROLE_ARN_PATH

    def processing_input(self, item: StepInput) -> Any:
        return ProcessingInput(
            source=item.source,
            destination=item.destination,
            input_name=item.name,
            s3_data_type="S3Prefix",
            s3_input_mode="File",
            s3_data_distribution_type="FullyReplicated",
        )

    def processing_output(self, request: StepRequest, destination: Any) -> Any:
        return ProcessingOutput(
            source=request.output.source,
            destination=destination,
            output_name=request.output.name,
        )
