"""The SageMaker Python SDK v3 adapter (``sagemaker>=3.27,<4``: ``sagemaker.mlops.workflow``,
``sagemaker.core``).

With ``_sdk_v2``, the only modules of mimsreg that import ``sagemaker``. The steps are built by
``_sdk_common.CommonSdkAdapter``; this names v3's classes and makes its processing inputs and
outputs, which v3 takes as pydantic shapes (``sagemaker.core.shapes``) instead of keyword
arguments. ``ScriptProcessor``, not ``FrameworkProcessor``: v3's ``FrameworkProcessor`` puts a
timestamp in its code prefix, so definitions would change from run to run.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import boto3


@contextmanager
def _default_region(region: str) -> Iterator[None]:
    """``region`` as the process's default region while the block runs, unless one is set."""
    lent = boto3.Session().region_name is None
    if lent:
        os.environ["AWS_DEFAULT_REGION"] = region
    try:
        yield
    finally:
        if lent:
            os.environ.pop("AWS_DEFAULT_REGION", None)


@contextmanager
def _importable_sdk() -> Iterator[None]:
    """What importing SDK v3 needs that a user of mimsreg should not have to provide.

    The SDK imports its own moved modules through shims that warn DeprecationWarning (e.g.
    sagemaker.train.configs): nothing our user can act on, and fatal under ``-W error``. And
    ``sagemaker.mlops`` makes a SageMaker client at import time (``AIRHub``, a class attribute),
    which fails with NoRegionError where no default region is configured, although a pipeline's
    region comes from its session and mimsreg's from the configuration: a default region is lent
    for the import only (a client is made, nothing is sent).
    """
    with _default_region("us-east-1"), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


with _importable_sdk():
    from sagemaker.core import image_uris
    from sagemaker.core.common_utils import resolve_value_from_config
    from sagemaker.core.config.config_schema import PROCESSING_JOB_ROLE_ARN_PATH
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.core.network import NetworkConfig
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import (
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )
    from sagemaker.core.workflow import is_pipeline_variable
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join
    from sagemaker.core.workflow.parameters import Parameter, ParameterString
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import ProcessingStep

from mimsreg.pipeline._adapter import StepInput, StepRequest  # noqa: E402
from mimsreg.pipeline._sdk_common import CommonSdkAdapter  # noqa: E402

__all__ = ["SdkV3Adapter"]


class SdkV3Adapter(CommonSdkAdapter):
    """Makes SDK v3 objects from the builder's SDK-neutral requests."""

    name = "sagemaker-v3"
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

    def making_step(self, session: Any) -> AbstractContextManager[None]:
        # v3's ProcessingStep makes a LocalSession (to read a method's name), which needs a
        # default region: the pipeline session's is lent when the process has none.
        return _default_region(str(session.boto_region_name))

    def processing_input(self, item: StepInput) -> Any:
        return ProcessingInput(
            input_name=item.name,
            s3_input=ProcessingS3Input(
                s3_uri=item.source,
                local_path=item.destination,
                s3_data_type="S3Prefix",
                s3_input_mode="File",
                s3_data_distribution_type="FullyReplicated",
            ),
        )

    def processing_output(self, request: StepRequest, destination: Any) -> Any:
        return ProcessingOutput(
            output_name=request.output.name,
            s3_output=ProcessingS3Output(
                s3_uri=destination,
                local_path=request.output.source,
                s3_upload_mode="EndOfJob",
            ),
        )
