"""A version's life on SageMaker after registration: tags, description, deletion, and one release
looked up in every region.

- Tags: versions carry no AWS tags (``aws_rules``), so a version's tags are metadata,
  ``mimsreg:tag:<key>`` (``UpdateModelPackage`` merges ``CustomerMetadataProperties`` and removes
  ``CustomerMetadataPropertiesToRemove``), and the record document keeps them as written.
- Description: ``ModelPackageDescription`` cannot be changed after creation; the record document
  (what ``show`` reads) keeps the new one.
- Deletion: ``DeleteModelPackage``; a tombstone document (``mimsreg/tombstones/<group>/<n>.json``,
  which ``gc`` never removes) keeps who, when and the approval history; the version index entry
  goes; the artifact and documents go at the next ``gc`` when no version references them.
- A release in every region: the partition's SageMaker regions, looked at in parallel; opt-in
  regions the account has not enabled are skipped, regions a policy denies with a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mimsreg.engine.aws_rules import METADATA_MAX_ENTRIES, encode_metadata_value
from mimsreg.engine.errors import BadInputError, InventoryError, RegistryWarning
from mimsreg.engine.inventory._aws_errors import ABSENT, error_code, maps_aws_errors
from mimsreg.engine.inventory.base import ApprovalEvent, Tombstone, VersionRecord
from mimsreg.engine.inventory.lifecycle import TAG_META_PREFIX, edited_record
from mimsreg.engine.inventory.sagemaker._base import KEY_PREFIX, _now, _parse_s3_uri, s3_uri
from mimsreg.engine.inventory.sagemaker.listing import Listing
from mimsreg.engine.inventory.version_index import VersionIndex
from mimsreg.engine.spec import partition_of

TOMBSTONES = KEY_PREFIX + "tombstones/"
# An opt-in region the account has not enabled answers so: nothing can be there, skipped quietly.
_NOT_ENABLED_CODES = frozenset({"UnrecognizedClientException", "InvalidClientTokenId"})
# A policy that denies the look: skipped with a warning, since a version may be there unseen.
_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})


def tombstone_key(group: str, version: int) -> str:
    return f"{TOMBSTONES}{group}/{version}.json"


def _bucket_of(records: Sequence[VersionRecord]) -> str | None:
    """The bucket the versions' documents live in (the region's bucket)."""
    for record in records:
        for uri in (record.record.get("record_uri"), record.artifact_uri):
            if isinstance(uri, str) and uri.startswith("s3://"):
                return _parse_s3_uri(uri)[0]
    return None


class Lifecycle(Listing):
    """``update_version``, ``delete_version``, ``tombstone``; a release's versions."""

    @maps_aws_errors
    def update_version(
        self,
        region: str,
        group: str,
        version: int,
        *,
        actor: str,
        tags: Mapping[str, str] | None = None,
        remove_tags: Sequence[str] = (),
        description: str | None = None,
    ) -> VersionRecord:
        current = self.get_version(region, group, version)
        uri = current.record.get("record_uri")
        if not isinstance(uri, str) or not uri:
            raise InventoryError(
                f"{group}/{version} in {region} has no mimsreg record document to keep the change"
            )
        stored = self._describe(region, current.id).get("CustomerMetadataProperties") or {}
        added = {TAG_META_PREFIX + k: encode_metadata_value(v) for k, v in (tags or {}).items()}
        removed = [TAG_META_PREFIX + k for k in remove_tags if TAG_META_PREFIX + k in stored]
        entries = len((set(stored) | set(added)) - set(removed))
        if entries > METADATA_MAX_ENTRIES:
            raise BadInputError(
                f"{group}/{version} in {region}: {entries} metadata entries, SageMaker keeps at "
                f"most {METADATA_MAX_ENTRIES} (mimsreg uses {len(stored) - _tag_count(stored)}): "
                "remove tags first"
            )
        if added or removed:
            request: dict[str, Any] = {"ModelPackageArn": current.id}
            if added:
                request["CustomerMetadataProperties"] = added
            if removed:
                request["CustomerMetadataPropertiesToRemove"] = removed
            self._sagemaker(region).update_model_package(**request)
        document = self._get_json(region, uri)
        kms = document.get("kms_key_id")
        edited = edited_record(document, tags, remove_tags, description)
        self._write_json(region, uri, edited, str(kms) if kms else None)
        return self.get_version(region, group, version)

    @maps_aws_errors
    def delete_version(
        self, region: str, group: str, version: int, actor: str, note: str | None = None
    ) -> Tombstone:
        current = self.get_version(region, group, version)
        tombstone = Tombstone(
            region,
            group,
            version,
            current.identity,
            current.sha256,
            _now(),
            actor,
            note,
            current.approval_history,
        )
        bucket = _bucket_of([current])
        kms = current.record.get("kms_key_id")
        kms_key = str(kms) if kms else None
        if bucket is not None:  # first: a failed delete leaves a tombstone no lookup reads
            document = {**tombstone.to_dict(), "arn": current.id, "record": current.record}
            self._write_json(
                region, s3_uri(bucket, tombstone_key(group, version)), document, kms_key
            )
        self._sagemaker(region).delete_model_package(ModelPackageName=current.id)
        if bucket is not None:
            index = VersionIndex(self._s3(region), bucket, group, kms_key)
            self._s3(region).delete_object(Bucket=bucket, Key=index.key(current.identity))
        return tombstone

    @maps_aws_errors
    def tombstone(self, region: str, group: str, version: int) -> Tombstone | None:
        """From the region's bucket, when one is known (a prepared plan, or another version)."""
        bucket = self._buckets.get(region) or _bucket_of(self.list_versions(region=region))
        if bucket is None:
            return None
        try:
            document = self._get_json(region, s3_uri(bucket, tombstone_key(group, version)))
        except Exception as exc:
            if error_code(exc) in ABSENT:
                return None
            raise
        history = tuple(
            ApprovalEvent(str(e["status"]), str(e["actor"]), str(e["at"]), e.get("note"))
            for e in document.get("approval_history") or []
        )
        return Tombstone(
            region,
            group,
            version,
            str(document["identity"]),
            str(document["sha256"]),
            str(document["deleted_at"]),
            str(document["deleted_by"]),
            document.get("note"),
            history,
        )

    def release_regions(self) -> list[str]:
        """The given clients' regions; else every SageMaker region of the default region's
        partition (botocore's endpoint data, no request) and the default regions."""
        if self._clients:
            return sorted(self._clients)
        import boto3

        defaults = self.default_regions()
        with self._lock:
            if self._session is None:
                self._session = boto3.Session()
            session = self._session
        available = session.get_available_regions("sagemaker", partition_of(defaults[0]))
        return sorted(set(available) | set(defaults))

    def compared_regions(self, registered: Sequence[str]) -> list[str]:
        """The registration's regions and the default ones: a look at every region of the
        partition costs a client and a request each (``approve --all-regions`` takes it)."""
        return sorted(set(registered) | set(self.default_regions()))

    def versions_of(
        self, group: str, identity: str, regions: Sequence[str] | None = None
    ) -> list[VersionRecord]:
        regions = self.release_regions() if regions is None else list(regions)
        workers = max(1, min(self._max_concurrency, len(regions)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mimsreg-release") as pool:
            found = list(pool.map(lambda r: self._find_where_allowed(r, group, identity), regions))
        return [record for record in found if record is not None]

    def _find_where_allowed(self, region: str, group: str, identity: str) -> VersionRecord | None:
        try:
            return self.find_version(region, group, identity)
        except InventoryError as exc:
            code = error_code(exc.__cause__ or exc)
            if code in _DENIED_CODES:
                warnings.warn(
                    f"{region}: not searched for versions of {group} ({code}): a version of the "
                    "release may be there; allow sagemaker:ListModelPackages and "
                    "DescribeModelPackage in it",
                    RegistryWarning,
                    stacklevel=2,
                )
                return None
            if code in _NOT_ENABLED_CODES:
                return None
            raise


def _tag_count(metadata: Mapping[str, Any]) -> int:
    return sum(1 for key in metadata if key.startswith(TAG_META_PREFIX))
