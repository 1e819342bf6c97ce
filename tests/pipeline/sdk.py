"""The SageMaker SDK classes the pipeline tests use, from whichever SDK is installed.

SDK v2 (``sagemaker.workflow``) and v3 (``sagemaker.mlops.workflow``, ``sagemaker.core``) cannot
be installed together; ``make test`` runs these tests with v2, ``make check-v3`` with v3.
``MIMSREG_EXPECT_SDK`` (set by both) makes a run fail rather than test the wrong SDK.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

MAJOR = int(importlib.metadata.version("sagemaker").split(".", 1)[0])

if MAJOR >= 3:
    import warnings

    # v3's own imports go through its deprecation shims (see tests/pipeline/conftest.py).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from sagemaker.core.helper.session_helper import Session
        from sagemaker.core.network import NetworkConfig
        from sagemaker.core.processing import ScriptProcessor
        from sagemaker.core.shapes import ProcessingOutput as _ProcessingOutput
        from sagemaker.core.shapes import ProcessingS3Output
        from sagemaker.core.workflow.parameters import ParameterString
        from sagemaker.core.workflow.pipeline_context import PipelineSession
        from sagemaker.mlops.workflow.pipeline import Pipeline
        from sagemaker.mlops.workflow.steps import CacheConfig, ProcessingStep
else:
    from sagemaker.network import NetworkConfig
    from sagemaker.processing import ProcessingOutput as _ProcessingOutput
    from sagemaker.processing import ScriptProcessor
    from sagemaker.session import Session
    from sagemaker.workflow.parameters import ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.pipeline_context import PipelineSession
    from sagemaker.workflow.steps import CacheConfig, ProcessingStep

__all__ = [
    "MAJOR",
    "CacheConfig",
    "NetworkConfig",
    "ParameterString",
    "Pipeline",
    "PipelineSession",
    "ProcessingStep",
    "ScriptProcessor",
    "Session",
    "processing_output",
]


def processing_output(output_name: str, source: str, destination: str) -> Any:
    """A processing output in the installed SDK's shape (keyword arguments in v2, pydantic v3)."""
    if MAJOR >= 3:
        return _ProcessingOutput(
            output_name=output_name,
            s3_output=ProcessingS3Output(
                s3_uri=destination, local_path=source, s3_upload_mode="EndOfJob"
            ),
        )
    return _ProcessingOutput(output_name=output_name, source=source, destination=destination)
