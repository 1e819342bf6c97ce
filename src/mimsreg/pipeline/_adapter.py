"""What the step builder asks of a SageMaker Python SDK, in SDK-neutral terms.

``ModelRegistrationStepBuilder`` decides everything (names, inputs, arguments, S3 locations) and
hands a :class:`StepRequest` to an adapter, which makes the SDK's objects: ``_sdk_v2`` for
``sagemaker>=2.200,<3`` (``sagemaker.workflow``), ``_sdk_v3`` for ``sagemaker>=3.27,<4``
(``sagemaker.mlops.workflow``), chosen by the installed SDK's major version (the two cannot be
installed together).
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from mimsreg.errors import MissingDependencyError

__all__ = ["INSTALL_HINT", "SdkAdapter", "StepInput", "StepOutput", "StepRequest", "load_adapter"]

INSTALL_HINT = "pip install 'mimsreg[pipelines]' (SDK v2) or 'mimsreg[pipelines-v3]' (SDK v3)"
SUPPORTED_SDK = "sagemaker>=2.200,<3 or >=3.27,<4"
# SDK major version → (adapter module, class)
ADAPTERS = {
    "2": ("mimsreg.pipeline._sdk_v2", "SdkV2Adapter"),
    "3": ("mimsreg.pipeline._sdk_v3", "SdkV3Adapter"),
}


@dataclass(frozen=True)
class StepInput:
    """One processing input: an S3 location (string or pipeline variable) → a container folder."""

    name: str
    source: Any
    destination: str


@dataclass(frozen=True)
class StepOutput:
    """The results output: the container folder, uploaded under ``prefix/<execution id>/<step>``."""

    name: str
    source: str
    destination_prefix: str
    property_file: str
    property_file_path: str


@dataclass(frozen=True)
class StepRequest:
    """Everything one registration step is made of, decided by the builder."""

    name: str
    display_name: str
    description: str
    image_uri: str
    role: Any
    command: tuple[str, ...]
    code_uri: str
    arguments: tuple[str, ...]
    inputs: tuple[StepInput, ...]
    output: StepOutput
    environment: Mapping[str, str]
    execution_id_env: str
    instance_type: str
    instance_count: int
    volume_size_in_gb: int
    max_runtime_in_seconds: int
    base_job_name: str
    volume_kms_key: str | None = None
    output_kms_key: str | None = None
    network_config: Any = None
    cache_config: Any = None
    depends_on: Sequence[Any] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    execution_arn_env: str | None = None  # set to the execution's ARN (the version's GeneratedBy)


class SdkAdapter(Protocol):
    """The SDK operations the builder needs; none of them touches the network."""

    name: str

    def pipeline_session(self, session: Any, region: str, bucket: str | None) -> Any:
        """A session that records steps instead of starting jobs (``session`` may be None)."""

    def session_region(self, session: Any) -> str:
        """The AWS region of a session."""

    def explicit_bucket(self, session: Any) -> str | None:
        """The session's default bucket if it was given (argument or SDK config), else None."""

    def bucket_prefix(self, session: Any) -> str | None:
        """The session's default key prefix (argument or SDK config), else None."""

    def configured_role(self, session: Any) -> str | None:
        """``SageMaker.ProcessingJob.RoleArn`` from the SDK's defaults configuration."""

    def is_pipeline_variable(self, value: Any) -> bool:
        """Whether ``value`` is resolved at execution time (property, parameter, function)."""

    def parameter_default(self, value: Any) -> Any:
        """The default value of a pipeline parameter, or None."""

    def processing_image_uri(self, region: str, version: str, instance_type: str) -> str:
        """The stock scikit-learn processing image in ``region`` (ValueError when unknown)."""

    def network_isolated(self, network_config: Any) -> bool:
        """Whether a network configuration isolates the job from AWS APIs."""

    def processing_step(self, session: Any, request: StepRequest) -> Any:
        """The processing step ``request`` describes."""

    def string_parameter(self, name: str, default: str | None) -> Any:
        """A string pipeline parameter."""

    def pipeline(
        self, name: str, steps: Sequence[Any], session: Any, parameters: Sequence[Any]
    ) -> Any:
        """A pipeline holding ``steps``."""

    def s3_client(self, session: Any) -> Any:
        """A boto3 S3 client of the session's region."""


def _sdk_version() -> str | None:
    try:
        return importlib.metadata.version("sagemaker")
    except importlib.metadata.PackageNotFoundError:
        return None


def load_adapter() -> SdkAdapter:
    """The adapter for the installed SDK; :class:`MissingDependencyError` when there is none."""
    version = _sdk_version()
    if version is None:
        raise MissingDependencyError(
            "the SageMaker Pipelines step needs the SageMaker Python SDK "
            f"({SUPPORTED_SDK}): {INSTALL_HINT}"
        )
    major = version.split(".", 1)[0]
    if major not in ADAPTERS:
        raise MissingDependencyError(
            f"the SageMaker Pipelines step supports the SageMaker Python SDK {SUPPORTED_SDK}, "
            f"found sagemaker {version}: {INSTALL_HINT}"
        )
    module_name, class_name = ADAPTERS[major]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise MissingDependencyError(
            f"cannot import the SageMaker Python SDK v{major} (sagemaker {version}: {exc}): "
            f"{INSTALL_HINT}"
        ) from exc
    adapter: SdkAdapter = getattr(module, class_name)()
    return adapter
