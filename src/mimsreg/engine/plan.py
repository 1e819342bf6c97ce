"""Registration plan: config facts + package manifest + target regions → what to create where.

Pure and portable (Python 3.9, standard library): no I/O, no clocks. Everything a backend needs to
register one version in one region is decided here, so ``--dry-run`` can print it and two runs with
the same inputs produce the same plan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mimsreg.engine._version import __version__
from mimsreg.engine.errors import PlanError
from mimsreg.engine.package import PackageManifest
from mimsreg.engine.spec import KMS_ARN_PATTERN, RegistrationSpec, normalise_region, partition_of

__all__ = [
    "ARTIFACT_FILE_NAME",
    "RegionPlan",
    "RegistrationContext",
    "RegistrationPlan",
    "artifact_key",
    "build_plan",
    "client_token",
    "registration_identity",
]

ARTIFACT_FILE_NAME = "model.tar.gz"
SUBMIT_DIRECTORY = "/opt/ml/model/code"
CONTAINER_LOG_LEVEL = "20"

ImageResolver = Callable[[str, str, str, str], str]


@dataclass(frozen=True)
class RegistrationContext:
    """Who registers, from where: recorded with the version, never part of its identity."""

    user: str = "unknown"
    host: str = "unknown"
    pipeline_execution_id: str | None = None
    tool: str = f"mimsreg {__version__}"
    pipeline_execution_arn: str | None = None  # the model package's GeneratedBy

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "user": self.user,
            "host": self.host,
            "pipeline_execution_id": self.pipeline_execution_id,
            "tool": self.tool,
        }
        if self.pipeline_execution_arn:
            data["pipeline_execution_arn"] = self.pipeline_execution_arn
        return data


@dataclass(frozen=True)
class RegionPlan:
    """One version to register in one region."""

    region: str
    group: str
    identity: str
    sha256: str
    size: int
    artifact_key: str
    payload_key: str | None
    image_uri: str
    environment: dict[str, str]
    record: dict[str, Any] = field(repr=False)
    bucket: str | None = None  # the region's S3 bucket (SageMaker backend), from the config

    @property
    def client_token(self) -> str:
        """A deterministic idempotency token (SageMaker ``ClientToken``: 1-36 ``[a-zA-Z0-9-]``)."""
        return client_token(self.identity)

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "group": self.group,
            "identity": self.identity,
            "client_token": self.client_token,
            "sha256": self.sha256,
            "size": self.size,
            "artifact_key": self.artifact_key,
            "payload_key": self.payload_key,
            "image_uri": self.image_uri,
            "bucket": self.bucket,
            "environment": dict(self.environment),
            "record": self.record,
        }


@dataclass(frozen=True)
class RegistrationPlan:
    """Everything to create, per region, for one packaged model."""

    spec: RegistrationSpec
    manifest: PackageManifest
    regions: tuple[RegionPlan, ...]
    payload_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifact": {
                "path": str(self.manifest.path),
                "sha256": self.manifest.sha256,
                "size": self.manifest.size,
                "entry_point": self.manifest.entry_point,
            },
            "payload_sha256": self.payload_sha256,
            "regions": [region.to_dict() for region in self.regions],
        }


def registration_identity(
    group: str, artifact_sha256: str, metadata_hash: str, payload_sha256: str | None = None
) -> str:
    """The identity of a version: same group, artifact bytes and metadata ⇒ same version."""
    parts = [group, artifact_sha256, metadata_hash, payload_sha256 or ""]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def client_token(identity: str) -> str:
    """A 36-character token derived from the identity, in SageMaker's allowed alphabet."""
    return f"mims-{identity[:31]}"


def artifact_key(sha256: str, file_name: str = ARTIFACT_FILE_NAME) -> str:
    """Content-addressed key of an artifact, relative to a store or bucket root."""
    return f"artifacts/sha256/{sha256}/{file_name}"


def serving_environment(spec: RegistrationSpec, region: str) -> dict[str, str]:
    """The container environment the original registered for serving."""
    return {
        "SAGEMAKER_PROGRAM": spec.inference_entry_point,
        "SAGEMAKER_SUBMIT_DIRECTORY": SUBMIT_DIRECTORY,
        "SAGEMAKER_REGION": region,
        "SAGEMAKER_CONTAINER_LOG_LEVEL": CONTAINER_LOG_LEVEL,
    }


def _default_image_resolver() -> ImageResolver:
    from mimsreg.engine.images import inference_image_uri

    return inference_image_uri


def _target_regions(spec: RegistrationSpec, regions: Sequence[str] | None) -> list[str]:
    if not regions:
        return [spec.region]
    result: list[str] = []
    for raw in regions:
        try:
            region = normalise_region(raw)
        except ValueError as exc:
            raise PlanError(f"region: {exc}") from exc
        if region not in result:  # NA and us-east-1 name the same region: register once
            result.append(region)
    return result


def build_plan(
    spec: RegistrationSpec,
    manifest: PackageManifest,
    regions: Sequence[str] | None = None,
    *,
    context: RegistrationContext | None = None,
    payload_sha256: str | None = None,
    image_resolver: ImageResolver | None = None,
) -> RegistrationPlan:
    """Plan one version per target region (default: the spec's region).

    Raises :class:`PlanError` for an unknown region, an inference image that does not exist
    for the framework, version and region — at plan time, never a placeholder — or a region the
    configured KMS key cannot serve.
    """
    resolve_image = image_resolver or _default_image_resolver()
    context = context or RegistrationContext()
    metadata_hash = spec.metadata_hash()
    group = spec.model_package_group_name
    identity = registration_identity(group, manifest.sha256, metadata_hash, payload_sha256)
    payload_key = artifact_key(payload_sha256, "payload.tar.gz") if payload_sha256 else None
    targets = _target_regions(spec, regions)
    for region in targets:
        _check_kms_key(spec, region)
    region_plans = []
    for region in targets:
        image_uri = resolve_image(
            spec.framework, spec.framework_version, region, spec.inference_instance_type
        )
        environment = serving_environment(spec, region)
        record = _record(
            spec, manifest, region, image_uri, environment, identity, metadata_hash, context
        )
        if payload_sha256:
            record["payload_sha256"] = payload_sha256
        region_plans.append(
            RegionPlan(
                region=region,
                group=group,
                identity=identity,
                sha256=manifest.sha256,
                size=manifest.size,
                artifact_key=artifact_key(manifest.sha256),
                payload_key=payload_key,
                image_uri=image_uri,
                environment=environment,
                record=record,
                bucket=spec.bucket_for(region),
            )
        )
    return RegistrationPlan(spec, manifest, tuple(region_plans), payload_sha256)


def _check_kms_key(spec: RegistrationSpec, region: str) -> None:
    """Refuse a key that cannot encrypt in ``region``, before anything is planned or written."""
    if spec.kms_key_id is None:
        return
    key = spec.kms_key_for(region)
    if key is None:
        # A mapping without this region: refused as a bucket mapping is, never left unencrypted.
        mapped = ", ".join(sorted(spec.kms_key_id)) if isinstance(spec.kms_key_id, dict) else ""
        raise PlanError(
            f"kms_key_id: no KMS key for region {region} in the mapping ({mapped}): add "
            f"'{region}: <a key of {region}>' or leave {region} out of the target regions"
        )
    match = KMS_ARN_PATTERN.fullmatch(key)
    if match is None:  # a key id or an alias name: KMS resolves it in the region of the request
        return
    partition, key_region = match.group(1), match.group(2)
    if key_region != region:
        raise PlanError(
            f"kms_key_id: the key {key!r} is in {key_region} and cannot encrypt in {region} "
            "(KMS keys are regional): give a mapping region → key, or a key with {region}, "
            f"naming a key of {region} (for a multi-Region key, its replica's ARN in {region})"
        )
    if partition != partition_of(region):
        raise PlanError(
            f"kms_key_id: the key {key!r} names partition {partition!r}; region {region} is in "
            f"{partition_of(region)!r}: write arn:{partition_of(region)}:kms:..."
        )


def _record(
    spec: RegistrationSpec,
    manifest: PackageManifest,
    region: str,
    image_uri: str,
    environment: dict[str, str],
    identity: str,
    metadata_hash: str,
    context: RegistrationContext,
) -> dict[str, Any]:
    """The full metadata record of a version: everything the original sent, and more."""
    return {
        "model_package_group_name": spec.model_package_group_name,
        "description": spec.model_package_description,
        "model_owner": spec.model_owner,
        "model_registration_domain": spec.model_registration_domain,
        "model_registration_objective": spec.model_registration_objective,
        "framework": spec.framework,
        "framework_version": spec.framework_version,
        "image_uri": image_uri,
        "inference_instance_type": spec.inference_instance_type,
        "inference_entry_point": spec.inference_entry_point,
        "content_types": list(spec.content_types),
        "response_types": list(spec.response_types),
        "variable_schema": spec.variable_schema(),
        "environment": dict(environment),
        "load_test": {
            "expected_tps": spec.expected_tps,
            "max_latency_in_millisecond": spec.max_latency_in_millisecond,
            "max_acceptable_error_rate": spec.max_acceptable_error_rate,
            "instance_types": list(spec.load_test_instance_types),
        },
        "approval_status": spec.approval_status,
        "registration_region": region,
        "source_model_region": spec.region,
        "artifact": {
            "sha256": manifest.sha256,
            "size": manifest.size,
            "uncompressed_size": manifest.uncompressed_size,
            "compression": manifest.compression,
            "entry_point": manifest.entry_point,
            "model_files": list(manifest.model_files),
        },
        "tags": dict(spec.tags),
        "kms_key_id": spec.kms_key_for(region),
        "identity": identity,
        "metadata_hash": metadata_hash,
        "registered_by": context.to_dict(),
    }


def canonical_json(data: Any) -> str:
    """Compact, key-sorted JSON: the form hashed and stored."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))
