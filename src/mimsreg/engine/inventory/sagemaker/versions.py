"""Finding versions: the group's versions listed, an identity looked up through the group's
version index (O(1), see ``version_index``) or by listing, a package made a ``VersionRecord``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from mimsreg.engine.aws_rules import decode_metadata_value
from mimsreg.engine.inventory._aws_errors import maps_aws_errors
from mimsreg.engine.inventory.base import VersionRecord
from mimsreg.engine.inventory.sagemaker._base import (
    META,
    _error_code,
    _group_missing,
    _timestamp,
)
from mimsreg.engine.inventory.sagemaker.groups import Groups
from mimsreg.engine.inventory.version_index import VersionIndex

_UNKNOWN = object()  # a lookup only a listing of the group can answer


class Versions(Groups):
    """Lookups of versions; failed creations are never the answer (and are remembered)."""

    def _package_arns(self, region: str, group: str, note_group: bool = False) -> list[str]:
        """The group's version ARNs, newest first ([] when the group does not exist).

        ``note_group``: remember whether the group exists when the answer is definite, for the
        ``ensure_group`` that follows a lookup.
        """
        sagemaker = self._sagemaker(region)
        arns: list[str] = []
        kwargs: dict[str, Any] = {
            "ModelPackageGroupName": group,
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 100,  # the most a page may hold: 10 pages for 1,000 versions, not 100
        }
        while True:
            try:
                page = sagemaker.list_model_packages(**kwargs)
            except Exception as exc:
                if _group_missing(exc):
                    if note_group:
                        self._note_group(region, group, False)
                    return []
                raise
            arns.extend(item["ModelPackageArn"] for item in page.get("ModelPackageSummaryList", []))
            if note_group and arns:
                self._note_group(region, group, True)
            token = page.get("NextToken")
            if not token:
                return arns
            kwargs["NextToken"] = token

    def _describe(self, region: str, arn: str) -> dict[str, Any]:
        return dict(self._sagemaker(region).describe_model_package(ModelPackageName=arn))

    @maps_aws_errors
    def find_version(self, region: str, group: str, identity: str) -> VersionRecord | None:
        """The version of ``identity`` in the group, or None. Through the group's index when the
        region's bucket is known (O(1): see ``version_index``), else by listing the group. A
        version whose creation failed (``ModelPackageStatus: Failed``) is never the answer."""
        index = self._version_index(region, group)
        if index is not None:
            found = self._find_indexed(region, group, identity, index)
            if found is not _UNKNOWN:
                return cast("VersionRecord | None", found)
        found_by_listing = self._find_by_listing(region, group, identity)
        if index is not None and found_by_listing is not None:
            index.created(identity, found_by_listing.id)  # heal a "creating" or stale entry
        return found_by_listing

    def _version_index(self, region: str, group: str) -> VersionIndex | None:
        bucket = self._buckets.get(region)
        if bucket is None:
            return None
        return VersionIndex(self._s3(region), bucket, group, self._kms_keys.get(region))

    def _find_indexed(
        self, region: str, group: str, identity: str, index: VersionIndex
    ) -> VersionRecord | object | None:
        """What the index says, verified; ``_UNKNOWN`` when only a listing can tell."""
        entry = index.entry(identity)
        if entry is None:
            if (region, group) in self._complete or index.is_complete():
                self._complete.add((region, group))
                self._note_group(region, group, True)
                return None
            return _UNKNOWN
        arn = entry.get("arn")
        if not arn:
            return _UNKNOWN  # "creating": a registration stopped between its create and here
        try:
            package = self._describe(region, str(arn))
        except Exception as exc:
            if _error_code(exc) == "ValidationException":
                return _UNKNOWN  # deleted meanwhile
            raise
        if self._usable(region, identity, package) is None:
            return None if package.get("ModelPackageStatus") == "Failed" else _UNKNOWN
        self._note_group(region, group, True)
        return self._record(region, group, package)

    def _usable(
        self, region: str, identity: str, package: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """``package`` when it is the version of ``identity`` and did not fail to be created."""
        metadata = package.get("CustomerMetadataProperties") or {}
        if decode_metadata_value(str(metadata.get(META + "identity", ""))) != identity:
            return None
        if package.get("ModelPackageStatus") == "Failed":
            with self._hints_lock:  # its ClientToken would return the failed one again
                self._failed[(region, identity)] = str(package.get("ModelPackageArn"))
            return None
        return package

    def _find_by_listing(self, region: str, group: str, identity: str) -> VersionRecord | None:
        for arn in self._package_arns(region, group, note_group=True):
            package = self._describe(region, arn)
            if self._usable(region, identity, package) is not None:
                return self._record(region, group, package)
        return None

    def _index_all(self, region: str, group: str, index: VersionIndex) -> None:
        """Index every version of the group mimsreg made, then mark the index complete."""
        indexed: dict[str, str] = {}
        for arn in self._package_arns(region, group):
            package = self._describe(region, arn)
            metadata = package.get("CustomerMetadataProperties") or {}
            identity = decode_metadata_value(str(metadata.get(META + "identity", "")))
            if identity and package.get("ModelPackageStatus") != "Failed":
                indexed.setdefault(identity, arn)  # newest first: the newest of an identity
        index.mark_complete(indexed)
        self._complete.add((region, group))

    def _record(self, region: str, group: str, package: Mapping[str, Any]) -> VersionRecord:
        stored = package.get("CustomerMetadataProperties") or {}
        metadata = {key: decode_metadata_value(str(value)) for key, value in stored.items()}
        containers = (package.get("InferenceSpecification") or {}).get("Containers") or [{}]
        created_at = _timestamp(package.get("CreationTime"))
        return VersionRecord(
            region=region,
            group=group,
            version=int(package.get("ModelPackageVersion") or 0),
            id=str(package.get("ModelPackageArn")),
            sha256=str(metadata.get(META + "sha256", "")),
            identity=str(metadata.get(META + "identity", "")),
            approval_status=str(package.get("ModelApprovalStatus") or "PendingManualApproval"),
            created_at=created_at,
            artifact_uri=_model_data(containers[0]),
            payload_uri=package.get("SamplePayloadUrl"),
            record={"record_uri": metadata.get(META + "record")},
            owner=str(metadata.get(META + "owner", "")),
            domain=str(metadata.get(META + "domain", "")),
        )


def _model_data(container: Mapping[str, Any]) -> str:
    """The archive's URI, or a model folder's prefix (``ModelDataSource``)."""
    source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
    return str(container.get("ModelDataUrl") or source.get("S3Uri") or "")
