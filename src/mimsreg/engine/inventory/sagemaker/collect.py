"""Garbage collection in S3: what no version uses, expired leases, incomplete uploads (the
decisions are ``engine.inventory.gc``'s; this lists the bucket and removes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from mimsreg.engine.errors import BadInputError
from mimsreg.engine.inventory._aws_errors import maps_aws_errors
from mimsreg.engine.inventory.base import VersionRecord
from mimsreg.engine.inventory.gc import (
    Garbage,
    PendingUpload,
    StoredObject,
    in_flight_keys,
    in_flight_records,
    select_garbage,
    select_uploads,
)
from mimsreg.engine.inventory.sagemaker._base import (
    KEY_PREFIX,
    _error_code,
    _is_client_error,
    _parse_s3_uri,
    s3_uri,
)
from mimsreg.engine.inventory.sagemaker.listing import Listing

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class Collect(Listing):
    """``collect_garbage`` and the listings of a bucket it needs."""

    @maps_aws_errors
    def collect_garbage(
        self,
        older_than: float,
        *,
        regions: Sequence[str] | None = None,
        bucket: str | None = None,
        dry_run: bool = False,
    ) -> list[Garbage]:
        """Per region: objects under ``mimsreg/`` in its bucket that no version of any group in
        the region references (artifacts, payloads, record/schema/approval documents of
        identities without a version), expired ``mimsreg/locks/`` objects, and incomplete
        multipart uploads under ``mimsreg/``, all older than ``older_than`` seconds.

        ``bucket``: the bucket name (``{region}`` filled in); without it, the bucket the region's
        versions point at. An artifact found in place is reused without being rewritten, so its
        age proves nothing: the artifacts and payloads named by young record documents of
        identities without a version (registrations in flight) are kept too.
        """
        chosen: list[Garbage] = []
        for region in list(regions or self.default_regions()):
            chosen.extend(self._region_garbage(region, older_than, bucket, dry_run))
        return chosen

    def _region_garbage(
        self, region: str, older_than: float, bucket: str | None, dry_run: bool
    ) -> list[Garbage]:
        versions = self.list_versions(region=region)
        # Listed before the objects: whatever a version created meanwhile uses is younger.
        now = datetime.now(timezone.utc)
        name = bucket.replace("{region}", region) if bucket else self._bucket_in_use(versions)
        if name is None:
            raise BadInputError(
                f"no bucket known for region {region} (it holds no version): name it with --bucket"
            )
        s3 = self._s3(region)
        objects = self._objects(s3, region, name)
        # A bucket that versions of other regions use too (registered before buckets were
        # checked against their region): their versions protect what they reference.
        identities = {version.identity for version in versions}
        for other in self._other_regions_in(region, name, objects, identities):
            versions += self.list_versions(region=other)
        referenced = set()
        for version in versions:
            for uri in (version.artifact_uri, version.payload_uri):
                where, key = _parse_s3_uri(uri or "")
                if where == name and key.startswith(KEY_PREFIX):
                    referenced.add(key[len(KEY_PREFIX) :])
        identities = {version.identity for version in versions}
        for record in in_flight_records(objects, identities, now, older_than):
            try:
                referenced |= in_flight_keys(self._get_json(region, record.location))
            except Exception as exc:  # removed meanwhile, or unreadable: protects nothing
                if not _is_client_error(exc) and not isinstance(exc, ValueError):
                    raise
        chosen = select_garbage(objects, referenced, identities, now, older_than)
        chosen += select_uploads(self._uploads(s3, region, name), now, older_than)
        if dry_run:
            return chosen
        for item in chosen:
            key = _parse_s3_uri(item.location)[1]
            if item.upload_id is not None:
                try:
                    s3.abort_multipart_upload(Bucket=name, Key=key, UploadId=item.upload_id)
                except Exception as exc:  # completed or aborted meanwhile: gone either way
                    if _error_code(exc) != "NoSuchUpload":
                        raise
            else:
                s3.delete_object(Bucket=name, Key=key)
        return [replace(item, removed=True) for item in chosen]

    def _other_regions_in(
        self, region: str, bucket: str, objects: Sequence[StoredObject], identities: set[str]
    ) -> set[str]:
        """Regions other than ``region`` whose registrations wrote record documents in
        ``bucket`` (read from the records of identities ``region`` has no version of)."""
        others: set[str] = set()
        for item in objects:
            identity = item.key[len("records/") : -len(".json")]
            if not item.key.startswith("records/") or identity in identities:
                continue
            try:
                record = self._get_json(region, item.location)
            except Exception as exc:  # removed meanwhile, or unreadable: names no region
                if not _is_client_error(exc) and not isinstance(exc, ValueError):
                    raise
                continue
            other = record.get("registration_region") if isinstance(record, dict) else None
            if isinstance(other, str) and other and other != region:
                others.add(other)
        return others

    @staticmethod
    def _bucket_in_use(versions: Sequence[VersionRecord]) -> str | None:
        for version in versions:
            where, _ = _parse_s3_uri(version.artifact_uri)
            if version.artifact_uri.startswith("s3://") and where:
                return where
        return None

    @staticmethod
    def _objects(s3: S3Client, region: str, bucket: str) -> list[StoredObject]:
        entries = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=KEY_PREFIX):
            for item in page.get("Contents", []):
                entries.append(
                    StoredObject(
                        key=item["Key"][len(KEY_PREFIX) :],
                        location=s3_uri(bucket, item["Key"]),
                        size=int(item.get("Size", 0)),
                        modified=item["LastModified"],
                        region=region,
                    )
                )
        return entries

    @staticmethod
    def _uploads(s3: S3Client, region: str, bucket: str) -> list[PendingUpload]:
        pending = []
        paginator = s3.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=bucket, Prefix=KEY_PREFIX):
            for upload in page.get("Uploads", []):
                pending.append(
                    PendingUpload(
                        key=upload["Key"][len(KEY_PREFIX) :],
                        location=s3_uri(bucket, upload["Key"]),
                        upload_id=upload["UploadId"],
                        initiated=upload["Initiated"],
                        region=region,
                    )
                )
        return pending
