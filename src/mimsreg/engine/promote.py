"""Promotion: one version copied from one inventory to another, in one or many regions.

A local version approved on a laptop goes to SageMaker in the production regions; a SageMaker
version goes to another region, or back to a local inventory to be looked at. The version keeps
its identity (group, artifact, metadata and payload digests), so promoting again finds it
(``unchanged``) and a target that registered the same model directly already has it; it keeps its
record, with where it came from under ``promoted_from``, and its approval history, each event
marked with its source, then its status in the target (the source's unless told otherwise).

The same guarantees as registering: the artifact and payload are read from the source and their
digests checked against the record before anything is written (the artifact inspected as
``register`` inspects it), bad input stops everything before the first write, each region gets a
result, and a version appears in the target with its history in one step (the backends write the
history with the version: :func:`mimsreg.engine.inventory.base.initial_history`).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from mimsreg.engine.errors import BadInputError, InventoryError
from mimsreg.engine.execute import RegistrationResult, execute_plan, planned_results
from mimsreg.engine.inventory.base import PROMOTED_FROM, Inventory, VersionRecord
from mimsreg.engine.package import inspect_package
from mimsreg.engine.plan import (
    ImageResolver,
    RegionPlan,
    RegistrationContext,
    RegistrationPlan,
    build_plan,
)
from mimsreg.engine.spec import ApprovalStatus, RegistrationSpec

if TYPE_CHECKING:
    from mimsreg.engine.inventory.base import Progress

__all__ = ["Promotion", "Source", "promote", "spec_of_record"]

# Aliases are evaluated at run time, where Python 3.9 has no `X | Y`.
InventoryOpener = Callable[[Sequence[str]], AbstractContextManager[Inventory]]
DownloadProgress = Callable[[str, int], AbstractContextManager[Optional["Progress"]]]

# What a version's record must hold to be registered again elsewhere (every mimsreg record does;
# a version another tool made, or whose record document is gone, does not).
REQUIRED_KEYS = (
    "model_owner",
    "model_registration_domain",
    "model_registration_objective",
    "framework",
    "framework_version",
    "inference_instance_type",
    "inference_entry_point",
    "content_types",
    "response_types",
    "variable_schema",
    "load_test",
    "source_model_region",
    "identity",
    "metadata_hash",
)


@dataclass(frozen=True)
class Source:
    """The version to promote: its inventory (and the URI naming it, recorded in the target),
    region, group and version number."""

    inventory: Inventory
    uri: str
    region: str
    group: str
    version: int


@dataclass(frozen=True)
class Promotion:
    """What :func:`promote` did: the source version, the plan, a result per target region."""

    source: VersionRecord
    plan: RegistrationPlan
    results: list[RegistrationResult]
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)


def spec_of_record(
    record: VersionRecord,
    *,
    approval_status: str,
    bucket: str | Mapping[str, str] | None = None,
    kms_key_id: str | Mapping[str, str] | None = None,
) -> RegistrationSpec:
    """The registration facts of a stored version, with the target's bucket and KMS key.

    Raises :class:`BadInputError` naming what the record lacks.
    """
    data = record.record
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing or "record_unavailable" in data:
        why = data.get("record_unavailable") or f"it lacks {', '.join(missing)}"
        raise BadInputError(
            f"{record.group}/{record.version} in {record.region} cannot be promoted: its record "
            f"is not a whole mimsreg record ({why})"
        )
    schema, load_test = data["variable_schema"], data["load_test"]
    return RegistrationSpec(
        model_owner=str(data["model_owner"]),
        model_registration_domain=str(data["model_registration_domain"]),
        model_registration_objective=str(data["model_registration_objective"]),
        framework=str(data["framework"]),
        framework_version=str(data["framework_version"]),
        inference_instance_type=str(data["inference_instance_type"]),
        inference_entry_point=str(data["inference_entry_point"]),
        content_types=tuple(data["content_types"]),
        response_types=tuple(data["response_types"]),
        input_variables=_pairs(schema, "input"),
        output_variables=_pairs(schema, "output"),
        model_package_group_name=record.group,
        region=str(data["source_model_region"]),
        approval_status=approval_status,
        model_package_description=data.get("description"),
        bucket=dict(bucket) if isinstance(bucket, Mapping) else bucket,
        kms_key_id=dict(kms_key_id) if isinstance(kms_key_id, Mapping) else kms_key_id,
        tags=dict(data.get("tags") or {}),
        expected_tps=int(load_test["expected_tps"]),
        max_latency_in_millisecond=int(load_test["max_latency_in_millisecond"]),
        max_acceptable_error_rate=float(load_test["max_acceptable_error_rate"]),
        load_test_instance_types=tuple(load_test["instance_types"]),
    )


def _pairs(schema: Mapping[str, Any], side: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(v["name"]), str(v["type"])) for v in schema[side]["variables"])


def _fetch(
    source: Source,
    record: VersionRecord,
    folder: Path,
    progress: DownloadProgress | None,
) -> tuple[Path, Path | None, str | None]:
    """The source's artifact and payload in ``folder``, their digests checked against the
    record: (artifact, payload or None, payload sha256 or None)."""
    artifact = folder / "model.tar.gz"
    size = int((record.record.get("artifact") or {}).get("size") or 0)
    with _phase(progress, "downloading", size) as counted:
        source.inventory.download(record.region, record.artifact_uri, artifact, counted)
    payload_sha256 = record.record.get("payload_sha256")
    if record.payload_uri is None:
        return artifact, None, None
    if not payload_sha256:
        raise BadInputError(
            f"{record.group}/{record.version} in {record.region} cannot be promoted: it has a "
            "payload but its record holds no payload_sha256 to verify it by"
        )
    payload = folder / "payload.tar.gz"
    source.inventory.download(record.region, record.payload_uri, payload)
    digest = hashlib.sha256()
    with payload.open("rb") as reader:
        while chunk := reader.read(4 * 1024 * 1024):
            digest.update(chunk)
    if digest.hexdigest() != payload_sha256:
        raise InventoryError(
            f"{record.payload_uri}: sha256 {digest.hexdigest()} is not the recorded "
            f"{payload_sha256}: the source's payload changed; nothing was promoted"
        )
    return artifact, payload, str(payload_sha256)


def _phase(
    hook: DownloadProgress | None, phase: str, total: int
) -> AbstractContextManager[Progress | None]:
    return hook(phase, total) if hook is not None else nullcontext(None)


def _origin(source: Source, record: VersionRecord, context: RegistrationContext) -> dict[str, Any]:
    """Where a promoted version came from, recorded with it."""
    return {
        "inventory": source.uri,
        "id": record.id,
        "region": record.region,
        "group": record.group,
        "version": record.version,
        "approval_status": record.approval_status,
        "approval_history": [event.to_dict() for event in record.approval_history],
        "promoted_by": context.to_dict(),
    }


def _target_plan(
    planned: RegionPlan, record: VersionRecord, status: str, origin: dict[str, Any]
) -> RegionPlan:
    """The plan of one target region: the source's identity and record, with what is the
    region's own (image, environment, KMS key) from the fresh plan."""
    data = {k: v for k, v in record.record.items() if k not in ("record_uri", PROMOTED_FROM)}
    data.update(
        image_uri=planned.image_uri,
        environment=dict(planned.environment),
        registration_region=planned.region,
        kms_key_id=planned.record.get("kms_key_id"),
        approval_status=status,
    )
    data[PROMOTED_FROM] = origin
    return replace(planned, identity=record.identity, record=data)


def promote(
    source: Source,
    open_target: InventoryOpener,
    regions: Sequence[str] | None = None,
    *,
    context: RegistrationContext,
    status: str | None = None,
    bucket: str | Mapping[str, str] | None = None,
    kms_key_id: str | Mapping[str, str] | None = None,
    dry_run: bool = False,
    image_resolver: ImageResolver | None = None,
    progress: DownloadProgress | None = None,
) -> Promotion:
    """Copy ``source``'s version into the target inventory in every region (default: the
    source's region), with its artifact, payload, record and approval history.

    ``status``: the approval status in the target (default: the source's). ``bucket`` and
    ``kms_key_id``: the target's S3 bucket and KMS key per region (SageMaker), in the forms the
    configuration takes. ``open_target(regions)``: the target inventory as a context manager
    (not opened on a dry run). ``progress(phase, total)``: as ``register`` takes it.
    """
    record = source.inventory.get_version(source.region, source.group, source.version)
    chosen = status or record.approval_status
    states = [state.value for state in ApprovalStatus]
    if chosen not in states:
        raise BadInputError(f"status: {chosen!r} is not one of {', '.join(states)}")
    spec = spec_of_record(record, approval_status=chosen, bucket=bucket, kms_key_id=kms_key_id)
    with tempfile.TemporaryDirectory(prefix="mimsreg-promote-") as work:
        artifact, payload, payload_sha256 = _fetch(source, record, Path(work), progress)
        manifest = inspect_package(artifact, entry_point=spec.inference_entry_point)
        if manifest.sha256 != record.sha256:
            raise InventoryError(
                f"{record.artifact_uri}: sha256 {manifest.sha256} is not the recorded "
                f"{record.sha256}: the source's artifact changed; nothing was promoted"
            )
        fresh = build_plan(
            spec,
            manifest,
            regions or [record.region],
            context=context,
            payload_sha256=payload_sha256,
            image_resolver=image_resolver,
        )
        origin = _origin(source, record, context)
        plan = replace(
            fresh,
            regions=tuple(_target_plan(r, record, chosen, origin) for r in fresh.regions),
        )
        if dry_run:
            return Promotion(record, plan, planned_results(plan), dry_run=True)
        targets = [region.region for region in plan.regions]
        with open_target(targets) as target:
            results = execute_plan(plan, target, artifact, payload=payload)
    return Promotion(record, plan, results)
