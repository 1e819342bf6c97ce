"""SageMaker Pipelines integration: the MIMS registration step.

``from mimsreg.pipeline import ModelRegistrationStepBuilder`` is cheap; the SageMaker Python SDK
(``pip install 'mimsreg[pipelines]'``) is imported when a builder is made. This package is the
only part of mimsreg that imports ``sagemaker`` (an import-linter contract says so).
"""

from __future__ import annotations

from mimsreg.pipeline.builder import (
    DEFAULT_STEP_NAME,
    ModelRegistrationStepBuilder,
    PipelineDraft,
    RegionSteps,
    Upload,
)

__all__ = [
    "DEFAULT_STEP_NAME",
    "ModelRegistrationStepBuilder",
    "PipelineDraft",
    "RegionSteps",
    "Upload",
]
