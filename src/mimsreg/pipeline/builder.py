"""``ModelRegistrationStepBuilder``: the MIMS registration step of a SageMaker Pipeline.

Each step is a processing job in the pipeline's region that runs mimsreg's runtime
(:mod:`mimsreg.engine.job`) in a stock SageMaker scikit-learn image and registers the packaged model
in *its* target region: that region's S3 bucket and Model Registry, through boto3 clients for that
region. Building steps and rendering the pipeline definition touch neither credentials nor the
network, and the definition is the same on every run and machine: the code travels as a
content-addressed bundle, the validated configuration as a content-addressed JSON document, and
every S3 location is explicit. Both files must be in S3 before the pipeline runs:
:meth:`ModelRegistrationStepBuilder.upload_runtime` (or ``mimsreg pipeline --upload``) puts them
there, skipping what is already present.

The SageMaker Python SDK is imported when a builder is made (``pip install 'mimsreg[pipelines]'``),
through one adapter module (``_sdk_v2`` or ``_sdk_v3``), never by ``import mimsreg``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mimsreg.engine.job import (
    EXECUTION_ARN_ENV,
    EXECUTION_ID_ENV,
    MODEL_DIR,
    OUTPUT_DIR,
    PAYLOAD_DIR,
    RESULTS_FILE,
    SPEC_DIR,
    SPEC_FILE_NAME,
)
from mimsreg.engine.spec import RegistrationSpec, normalise_region
from mimsreg.errors import BadInputError, MimsregError, PlanError
from mimsreg.pipeline._adapter import SdkAdapter, StepInput, StepOutput, StepRequest, load_adapter
from mimsreg.pipeline.bundle import RuntimeBundle, build_runtime_bundle, join_key
from mimsreg.pipeline.processing_images import check_processing_version

if TYPE_CHECKING:
    from mimsreg.config import ModelRegistrationConfig

__all__ = [
    "DEFAULT_STEP_NAME",
    "STEP_NAME_PATTERN",
    "ModelRegistrationStepBuilder",
    "PipelineDraft",
    "RegionSteps",
    "Upload",
]

ImageResolver = Callable[[str, str, str, str], str]

DEFAULT_STEP_NAME = "MimsModelRegistration"
# botocore's StepName shape: at most 64 characters of [A-Za-z0-9-_]; empty is not a name.
STEP_NAME_PATTERN = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")
DEFAULT_PROCESSING_FRAMEWORK_VERSION = "1.2-1"  # Python 3.9 image: the runtime's floor
DEFAULT_KEY_PREFIX = "mimsreg"
_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/[\w+=,.@\-/]{1,512}$")
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")


class RegionSteps(dict[str, Any]):
    """Steps keyed by AWS region name, in target order; indexing also takes ``NA``/``EU``/``FE``."""

    def __missing__(self, key: str) -> Any:
        try:
            region = normalise_region(key)
        except (ValueError, AttributeError):
            raise KeyError(key) from None
        if region == key or region not in self:
            raise KeyError(key)
        return self[region]


@dataclass(frozen=True)
class Upload:
    """One file :meth:`ModelRegistrationStepBuilder.upload_runtime` put in S3, or found there."""

    uri: str
    size: int
    status: str  # "uploaded" | "exists"

    def to_dict(self) -> dict[str, Any]:
        return {"uri": self.uri, "size": self.size, "status": self.status}


@functools.lru_cache(maxsize=1)
def _bundle() -> RuntimeBundle:
    # The sources of an installed package do not change while it runs.
    return build_runtime_bundle()


def _config_parts(config: Any) -> tuple[RegistrationSpec, str | None]:
    """The spec and the configured role of any accepted configuration form."""
    if isinstance(config, RegistrationSpec):
        return config, None
    from mimsreg.config import ModelRegistrationConfig

    if isinstance(config, ModelRegistrationConfig):
        model = config
    elif isinstance(config, (str, Path)):
        model = ModelRegistrationConfig.from_file(config)
    elif isinstance(config, Mapping):
        model = ModelRegistrationConfig.from_mapping(config)
    else:
        raise BadInputError(
            "config: expected a ModelRegistrationConfig, a RegistrationSpec, a mapping or a "
            f"file path, got {type(config).__name__!r}"
        )
    return model.to_spec(), model.role


def _bucket_setting(value: str | Mapping[str, str] | None) -> str | dict[str, str] | None:
    """A bucket name or template as is; a mapping with its regions normalised."""
    if value is None or isinstance(value, str):
        return value
    try:
        return {normalise_region(region): name for region, name in value.items()}
    except (ValueError, AttributeError) as exc:
        raise BadInputError(f"bucket: {exc}") from exc


def _check_s3_uri(value: str, what: str) -> str:
    if not _S3_URI.fullmatch(value):
        raise BadInputError(f"{what}: {value!r} is not an s3:// URI (s3://bucket/key)")
    return value


def _check_positive(value: int, what: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise BadInputError(f"{what}: must be an integer from 1 to {maximum}, got {value!r}")
    return value


def canonical_spec_bytes(spec: RegistrationSpec) -> bytes:
    """The spec document shipped to the job: compact, key-sorted UTF-8 JSON."""
    text = json.dumps(spec.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


class ModelRegistrationStepBuilder:
    """Builds SageMaker Pipelines processing steps that register a packaged model (one per region).

    ``config``: a :class:`mimsreg.ModelRegistrationConfig` (or a mapping of its fields, a YAML/JSON
    file path, or a :class:`mimsreg.RegistrationSpec`).

    ``sagemaker_session``: the pipeline's session; its region is the pipeline's region. A plain
    ``sagemaker.Session`` is rebuilt as a ``PipelineSession`` (steps are recorded, never run).
    Default: a ``PipelineSession`` in the config's region.

    Where the role and buckets come from, first match wins:

    - role: ``role=``; the config's ``role``; ``SageMaker.ProcessingJob.RoleArn`` in the SageMaker
      SDK defaults file (``SAGEMAKER_USER_CONFIG_OVERRIDE`` or the SDK's standard locations).
    - bucket (same forms as the config's ``bucket``: a name, a name with ``{region}``, a mapping
      region → name): ``bucket=``; the config's ``bucket``; the session's default bucket, only when
      it was given explicitly (``PipelineSession(default_bucket=...)`` or
      ``SageMaker.PythonSDK.Modules.Session.DefaultS3Bucket`` in the SDK defaults file). mimsreg
      never asks STS for the account to derive ``sagemaker-<region>-<account>``.

    The bucket of the pipeline's region holds the runtime bundle, the spec document and each
    step's ``results.json`` under ``s3_prefix`` (default ``mimsreg``, after the session's default
    key prefix); each target region's bucket receives that region's artifacts. A missing role or
    bucket is a :class:`mimsreg.BadInputError` here, before any step exists.

    Processing knobs: ``instance_type`` (``ml.m5.large``), ``instance_count`` (1; every instance
    would run the same idempotent registration),
    ``volume_size_in_gb`` (30), ``max_runtime_in_seconds`` (3600), ``volume_kms_key`` and
    ``output_kms_key`` (KMS keys for the job's volume and its results), ``network_config`` (a
    ``sagemaker.network.NetworkConfig`` for VPC subnets and security groups; network isolation is
    off by default and refused, since the job calls SageMaker and S3), ``cache_config`` (a
    ``sagemaker.workflow.steps.CacheConfig``), ``processing_image_uri`` (default: the stock
    scikit-learn ``processing_framework_version`` image of the pipeline's region).
    """

    def __init__(
        self,
        config: ModelRegistrationConfig | RegistrationSpec | Mapping[str, Any] | str | Path,
        sagemaker_session: Any = None,
        role: Any = None,
        *,
        bucket: str | Mapping[str, str] | None = None,
        s3_prefix: str | None = None,
        instance_type: str = "ml.m5.large",
        instance_count: int = 1,
        volume_size_in_gb: int = 30,
        max_runtime_in_seconds: int = 3600,
        volume_kms_key: str | None = None,
        output_kms_key: str | None = None,
        network_config: Any = None,
        cache_config: Any = None,
        processing_image_uri: str | None = None,
        processing_framework_version: str = DEFAULT_PROCESSING_FRAMEWORK_VERSION,
        step_name: str = DEFAULT_STEP_NAME,
        image_resolver: ImageResolver | None = None,
    ) -> None:
        spec, configured_role = _config_parts(config)
        self._check_knobs(
            instance_type, instance_count, volume_size_in_gb, max_runtime_in_seconds, step_name
        )
        self._sdk: SdkAdapter = load_adapter()
        if network_config is not None and self._sdk.network_isolated(network_config):
            raise BadInputError(
                "network_config: network isolation is enabled, but the registration job must "
                "call SageMaker and S3; pass a NetworkConfig with enable_network_isolation=False"
            )
        bucket_setting = _bucket_setting(bucket if bucket is not None else spec.bucket)
        home_bucket = replace(spec, bucket=bucket_setting).bucket_for(spec.region)
        self.session: Any = self._sdk.pipeline_session(sagemaker_session, spec.region, home_bucket)
        self.pipeline_region: str = self._sdk.session_region(self.session)
        if bucket_setting is None:
            bucket_setting = self._sdk.explicit_bucket(self.session)
        self.spec: RegistrationSpec = replace(spec, bucket=bucket_setting)
        try:
            self.bucket: str = self.spec.require_bucket(self.pipeline_region)
        except PlanError as exc:
            raise BadInputError(
                f"{exc} (the pipeline's region); or pass bucket=... (--bucket), or give the "
                "session a default bucket (PipelineSession(default_bucket=...) or "
                "SageMaker.PythonSDK.Modules.Session.DefaultS3Bucket in the SageMaker SDK "
                "defaults file)"
            ) from exc
        self.role: Any = self._resolve_role(role, configured_role)
        self.s3_prefix: str = (
            s3_prefix.strip("/")
            if s3_prefix is not None
            else join_key(self._sdk.bucket_prefix(self.session) or "", DEFAULT_KEY_PREFIX)
        )
        self.instance_type = instance_type
        self.instance_count = instance_count
        self.volume_size_in_gb = volume_size_in_gb
        self.max_runtime_in_seconds = max_runtime_in_seconds
        self.volume_kms_key = volume_kms_key
        self.output_kms_key = output_kms_key
        self.network_config = network_config
        self.cache_config = cache_config
        self.step_name = step_name
        self._image_resolver = image_resolver
        self.processing_image_uri: str = processing_image_uri or self._processing_image(
            processing_framework_version
        )
        self.bundle: RuntimeBundle = _bundle()
        self.spec_document: bytes = canonical_spec_bytes(self.spec)
        self.spec_sha256: str = hashlib.sha256(self.spec_document).hexdigest()

    # --- construction checks ------------------------------------------------------------------
    @staticmethod
    def _check_knobs(
        instance_type: str, count: int, volume: int, runtime: int, step_name: str
    ) -> None:
        if not isinstance(instance_type, str) or not _INSTANCE_TYPE.fullmatch(instance_type):
            raise BadInputError(
                f"instance_type: {instance_type!r} is not a SageMaker instance type "
                "('ml.<family>.<size>')"
            )
        _check_positive(count, "instance_count", 100)
        _check_positive(volume, "volume_size_in_gb", 16384)
        _check_positive(runtime, "max_runtime_in_seconds", 777600)
        if not isinstance(step_name, str) or not re.fullmatch(r"[A-Za-z0-9\-_]{1,48}", step_name):
            raise BadInputError(
                f"step_name: {step_name!r} must be 1 to 48 letters, digits, '-' or '_' (the "
                "region is appended and SageMaker step names hold at most 64)"
            )

    def _resolve_role(self, role: Any, configured_role: str | None) -> Any:
        chosen = role or configured_role or self._sdk.configured_role(self.session)
        if not chosen:
            raise BadInputError(
                "role: no IAM role for the registration job: pass role=... (--role), set 'role' "
                "in the configuration, or set SageMaker.ProcessingJob.RoleArn in the SageMaker "
                "SDK defaults file (SAGEMAKER_USER_CONFIG_OVERRIDE)"
            )
        if isinstance(chosen, str) and not _ROLE_ARN.fullmatch(chosen):
            # A bare role name would make the SDK call IAM while rendering the definition.
            raise BadInputError(
                f"role: {chosen!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
            )
        return chosen

    def _processing_image(self, version: str) -> str:
        check_processing_version(version)
        try:
            return self._sdk.processing_image_uri(self.pipeline_region, version, self.instance_type)
        except ValueError as exc:
            raise PlanError(
                f"no SageMaker scikit-learn {version!r} processing image in the pipeline's region "
                f"{self.pipeline_region!r} ({exc}); pass processing_image_uri=..."
            ) from exc

    # --- S3 locations -------------------------------------------------------------------------
    def _uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    @property
    def runtime_uri(self) -> str:
        """Where the runtime bundle must be: content-addressed, in the pipeline's bucket."""
        return self._uri(self.bundle.key(self.s3_prefix))

    @property
    def spec_uri(self) -> str:
        """Where the registration spec document must be: content-addressed, like the bundle."""
        key = join_key(self.s3_prefix, "specs", "sha256", self.spec_sha256, SPEC_FILE_NAME)
        return self._uri(key)

    @property
    def results_prefix(self) -> str:
        """Each step writes ``<prefix>/<pipeline execution id>/<step name>/results.json``."""
        return self._uri(join_key(self.s3_prefix, "results"))

    # --- step building ------------------------------------------------------------------------
    def _check_source(self, value: Any, what: str) -> Any:
        if self._sdk.is_pipeline_variable(value):
            default = self._sdk.parameter_default(value)
            if isinstance(default, str):
                _check_s3_uri(default, f"{what} (parameter default)")
            return value
        if isinstance(value, str):
            return _check_s3_uri(value, what)
        raise BadInputError(
            f"{what}: expected an s3:// URI, a step property or a pipeline parameter, got "
            f"{type(value).__name__} {value!r}"
        )

    def target_regions(self, regions: Sequence[str] | str | None = None) -> list[str]:
        """Target regions as AWS names, duplicates removed (default: the config's region)."""
        if regions is None:
            return [self.spec.region]
        if isinstance(regions, str):
            regions = [regions]
        result: list[str] = []
        for raw in regions:
            try:
                region = normalise_region(raw)
            except (ValueError, AttributeError) as exc:
                raise PlanError(f"regions: {exc}") from exc
            if region not in result:
                result.append(region)
        if not result:
            raise PlanError("regions: the list is empty; name at least one region")
        return result

    def _check_registration(self, region: str) -> None:
        """What the job would find out too late: the inference image and the region's bucket."""
        resolve = self._image_resolver
        if resolve is None:
            from mimsreg.engine.images import inference_image_uri

            resolve = inference_image_uri
        spec = self.spec
        resolve(spec.framework, spec.framework_version, region, spec.inference_instance_type)
        spec.require_bucket(region)

    def step_name_for(self, region: str, step_name: str | None = None) -> str:
        """``<step_name>-<region>``, e.g. ``MimsModelRegistration-eu-west-1``."""
        name = f"{step_name or self.step_name}-{region}"
        if not STEP_NAME_PATTERN.fullmatch(name):
            raise BadInputError(
                f"step_name: {name!r} is not a valid SageMaker step name (1 to 64 letters, "
                "digits, '-' or '_')"
            )
        return name

    def _request(
        self,
        region: str,
        name: str,
        model: Any,
        payload: Any,
        dependencies: Sequence[Any] | None,
    ) -> StepRequest:
        inputs = [StepInput("model", model, MODEL_DIR)]
        arguments = [
            "--region",
            region,
            "--spec",
            f"{SPEC_DIR}/{SPEC_FILE_NAME}",
            "--spec-sha256",
            self.spec_sha256,
            "--bundle-sha256",
            self.bundle.sha256,
            "--model-dir",
            MODEL_DIR,
            "--output-dir",
            OUTPUT_DIR,
        ]
        if payload is not None:
            inputs.append(StepInput("mims_payload", payload, PAYLOAD_DIR))
            arguments += ["--payload-dir", PAYLOAD_DIR]
        inputs.append(StepInput("mimsreg_spec", self.spec_uri, SPEC_DIR))
        group = self.spec.model_package_group_name
        return StepRequest(
            name=name,
            display_name=f"Register {group} in {region}",
            description=(
                f"mimsreg: registers the packaged model as a version of model package group "
                f"{group} in {region} (S3 and SageMaker Model Registry of {region})"
            ),
            image_uri=self.processing_image_uri,
            role=self.role,
            command=("python3",),
            code_uri=self.runtime_uri,
            arguments=tuple(arguments),
            inputs=tuple(inputs),
            output=StepOutput(
                name="results",
                source=OUTPUT_DIR,
                destination_prefix=self.results_prefix,
                property_file=f"{name}-results",
                property_file_path=RESULTS_FILE,
            ),
            environment={},
            execution_id_env=EXECUTION_ID_ENV,
            execution_arn_env=EXECUTION_ARN_ENV,
            instance_type=self.instance_type,
            instance_count=self.instance_count,
            volume_size_in_gb=self.volume_size_in_gb,
            max_runtime_in_seconds=self.max_runtime_in_seconds,
            base_job_name="mimsreg-registration",
            volume_kms_key=self.volume_kms_key,
            output_kms_key=self.output_kms_key,
            network_config=self.network_config,
            cache_config=self.cache_config,
            depends_on=list(dependencies) if dependencies else None,
        )

    def payload_uri_for_key(self, payload_s3_key: str) -> str:
        """The original's ``payload_s3_key``: a key in the pipeline region's bucket, as a URI."""
        if not isinstance(payload_s3_key, str) or not payload_s3_key.strip():
            raise BadInputError(
                f"payload_s3_key: expected a key in s3://{self.bucket}, got {payload_s3_key!r}"
            )
        if payload_s3_key.startswith(("s3://", "/")) or len(payload_s3_key.encode()) > 1024:
            raise BadInputError(
                f"payload_s3_key: {payload_s3_key!r} is not a key of s3://{self.bucket} (no "
                "leading '/', at most 1024 bytes); pass a whole s3:// URI as payload=..."
            )
        return self._uri(payload_s3_key)

    def _payload_source(self, payload: Any, payload_s3_key: str | None) -> Any:
        if payload_s3_key is None:
            return None if payload is None else self._check_source(payload, "payload")
        if payload is not None:
            raise BadInputError("payload and payload_s3_key name the same input: give one")
        return self._check_source(self.payload_uri_for_key(payload_s3_key), "payload_s3_key")

    def create_steps(
        self,
        packaging_step_output: Any,
        dependencies: Sequence[Any] | None = None,
        regions: Sequence[str] | str | None = None,
        payload: Any = None,
        *,
        step_name: str | None = None,
        payload_s3_key: str | None = None,
    ) -> list[Any]:
        """Like :meth:`create_step`, always a list of steps, in target-region order."""
        model = self._check_source(packaging_step_output, "packaging_step_output")
        payload = self._payload_source(payload, payload_s3_key)
        targets = self.target_regions(regions)
        names = [self.step_name_for(region, step_name) for region in targets]
        for region in targets:  # every problem raises before any step exists
            self._check_registration(region)
        return [
            self._sdk.processing_step(
                self.session, self._request(region, name, model, payload, dependencies)
            )
            for region, name in zip(targets, names, strict=True)
        ]

    def create_step(
        self,
        packaging_step_output: Any,
        dependencies: Sequence[Any] | None = None,
        regions: Sequence[str] | str | None = None,
        payload: Any = None,
        *,
        step_name: str | None = None,
        payload_s3_key: str | None = None,
    ) -> Any:
        """The registration step(s) for a packaged model.

        ``packaging_step_output``: where the packaged model is — a step property such as
        ``packaging_step.properties.ProcessingOutputConfig.Outputs["packaged_model"].S3Output.S3Uri``,
        a pipeline parameter, or an ``s3://`` URI; the folder must hold exactly one archive.
        ``dependencies``: steps (or step names) that must finish first. ``regions``: AWS region
        names or ``NA``/``EU``/``FE``; default the config's region. ``payload``: the sample
        payload archive's location, in the same forms (optional); or, as the original took it,
        ``payload_s3_key``: its key in the bucket of the pipeline's region.

        Returns a ``sagemaker.workflow.steps.ProcessingStep`` when there is one target region,
        and a :class:`RegionSteps` dict ``{region: ProcessingStep}`` (AWS names, in the given
        order) when there are several; :meth:`create_steps` always returns a list, and
        ``list(steps.values())`` turns the dict into one. Steps are named
        ``<step_name>-<region>`` (``MimsModelRegistration-us-east-1``).

        Raises :class:`mimsreg.BadInputError` (``PlanError`` for an unknown region or inference
        image, a region without bucket) before any step exists.
        """
        steps = self.create_steps(
            packaging_step_output,
            dependencies,
            regions,
            payload,
            step_name=step_name,
            payload_s3_key=payload_s3_key,
        )
        if len(steps) == 1:
            return steps[0]
        return RegionSteps(zip(self.target_regions(regions), steps, strict=True))

    def create_registration_steps(
        self,
        packaging_step_output: Any,
        dependencies: Sequence[Any] | None = None,
        payload_s3_key: str | None = None,
        regions: Sequence[str] | str | None = None,
    ) -> RegionSteps:
        """The original's method, with its arguments in its order: always a :class:`RegionSteps`
        dict ``{region: step}``, also for one region (keys are AWS names; ``NA``/``EU``/``FE``
        index it too)."""
        steps = self.create_steps(
            packaging_step_output, dependencies, regions, payload_s3_key=payload_s3_key
        )
        return RegionSteps(zip(self.target_regions(regions), steps, strict=True))

    # --- pipeline and upload ------------------------------------------------------------------
    def pipeline(
        self, name: str, steps: Sequence[Any] | Mapping[str, Any], parameters: Sequence[Any] = ()
    ) -> Any:
        """A ``sagemaker.workflow.pipeline.Pipeline`` of ``steps`` in the builder's session."""
        return self._sdk.pipeline(name, _flatten(steps), self.session, parameters)

    def string_parameter(self, name: str, default: str | None = None) -> Any:
        """A ``ParameterString`` (for a packaged-model location chosen per execution)."""
        return self._sdk.string_parameter(name, default)

    def files_to_upload(self) -> list[tuple[str, bytes, str]]:
        """(S3 URI, bytes, content type) of every file the steps read from S3 besides the model."""
        return [
            (self.runtime_uri, self.bundle.data, "application/zip"),
            (self.spec_uri, self.spec_document, "application/json"),
        ]

    def upload_runtime(self, s3_client: Any = None) -> list[Upload]:
        """Put the runtime bundle and the spec document in S3 unless they are there already.

        Call it once before the pipeline runs (after changing mimsreg or the configuration): the
        keys hold the contents' SHA-256, so an existing object is the right one and is skipped.
        ``s3_client``: a boto3 S3 client; default one of the session's region.
        """
        client = s3_client if s3_client is not None else self._sdk.s3_client(self.session)
        return [_upload(client, uri, data, kind) for uri, data, kind in self.files_to_upload()]


def _flatten(steps: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
    return list(steps.values()) if isinstance(steps, Mapping) else list(steps)


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code") or "")


def _holds(client: Any, bucket: str, key: str, head: Mapping[str, Any], data: bytes) -> bool:
    """Whether the object at the key holds exactly ``data``: S3's SHA-256 checksum when it kept
    one, else the bytes read back (the bundle and the spec are small)."""
    if int(head.get("ContentLength", -1)) != len(data):
        return False
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
    if head.get("ChecksumSHA256"):
        return bool(head["ChecksumSHA256"] == digest)
    return bool(client.get_object(Bucket=bucket, Key=key)["Body"].read() == data)


def _upload(client: Any, uri: str, data: bytes, content_type: str) -> Upload:
    bucket, _, key = uri[len("s3://") :].partition("/")
    try:
        head = client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        holds = _holds(client, bucket, key, head, data) if head else False
    except Exception as exc:
        if _error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
            raise MimsregError(f"cannot check {uri}: {exc}") from exc
    else:
        if not holds:
            raise MimsregError(
                f"{uri} exists with {head.get('ContentLength')} bytes that are not the ones "
                f"expected ({len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}): a "
                "content-addressed key holds something else; delete it and upload again"
            )
        return Upload(uri, len(data), "exists")
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
    try:
        client.put_object(
            Bucket=bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            ChecksumSHA256=digest,  # S3 refuses the object if the bytes arrive changed
        )
    except Exception as exc:
        raise MimsregError(f"cannot upload {uri}: {exc}") from exc
    return Upload(uri, len(data), "uploaded")


class PipelineDraft:
    """A pipeline being assembled: the seed's ``pipeline.add_step(step)``, then :meth:`build`.

    ``add_step`` takes a step, a list of steps, or the ``{region: step}`` dict of
    :meth:`ModelRegistrationStepBuilder.create_step`. :meth:`build` returns a SageMaker
    ``Pipeline``; :meth:`definition` renders its JSON (offline).
    """

    def __init__(self, name: str, sagemaker_session: Any, parameters: Sequence[Any] = ()) -> None:
        self.name = name
        self.sagemaker_session = sagemaker_session
        self.parameters = list(parameters)
        self.steps: list[Any] = []

    def add_step(self, step: Any) -> None:
        """Append a step, a list of steps, or every step of a ``{region: step}`` dict."""
        if isinstance(step, (Mapping, list, tuple)):
            self.steps.extend(_flatten(step))
        else:
            self.steps.append(step)

    def build(self) -> Any:
        """The ``sagemaker.workflow.pipeline.Pipeline`` of the steps added so far."""
        return load_adapter().pipeline(
            self.name, self.steps, self.sagemaker_session, self.parameters
        )

    def definition(self) -> str:
        """The pipeline definition JSON, as ``Pipeline.definition()`` renders it."""
        return str(self.build().definition())
