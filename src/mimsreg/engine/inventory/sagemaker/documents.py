"""The JSON documents kept beside the artifact: the full record, the variable schema and the
approval history (SageMaker keeps the last decision only)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mimsreg.engine.inventory.base import ApprovalEvent
from mimsreg.engine.inventory.sagemaker._base import (
    SageMakerBase,
    _history_uri,
    _parse_s3_uri,
    _timestamp,
    s3_uri,
)
from mimsreg.engine.plan import RegionPlan


class Documents(SageMakerBase):
    """Reading and writing JSON documents in S3; approval histories, stored or SageMaker's."""

    def _put_json(self, plan: RegionPlan, key: str, data: Any, kms_key_id: str | None) -> str:
        uri = s3_uri(self._bucket(plan), key)
        self._write_json(plan.region, uri, data, kms_key_id)
        return uri

    def _get_json(self, region: str, uri: str) -> Any:
        bucket, key = _parse_s3_uri(uri)
        body = self._s3(region).get_object(Bucket=bucket, Key=key)["Body"].read()
        return json.loads(body)

    def _stored_history(self, region: str, record_uri: Any) -> tuple[ApprovalEvent, ...]:
        """The approval history mimsreg keeps beside the record (SageMaker keeps the last only)."""
        uri = _history_uri(record_uri)
        if uri is None:
            return ()
        try:
            events = self._get_json(region, uri)
        except Exception:  # absent or unreadable: fall back to SageMaker's last decision
            return ()
        return tuple(
            ApprovalEvent(str(e["status"]), str(e["actor"]), str(e["at"]), e.get("note"))
            for e in events
        )

    def _write_json(self, region: str, uri: str, data: Any, kms_key_id: str | None = None) -> None:
        bucket, key = _parse_s3_uri(uri)
        extra: dict[str, Any] = {}
        if kms_key_id:
            extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key_id)
        body = json.dumps(data, indent=2, sort_keys=True).encode("utf-8")
        self._s3(region).put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            ChecksumAlgorithm="SHA256",
            **extra,
        )

    @staticmethod
    def _history(package: Mapping[str, Any]) -> tuple[ApprovalEvent, ...]:
        """SageMaker keeps the latest decision only: who and when, with its description."""
        modified = package.get("LastModifiedTime") or package.get("CreationTime")
        actor = (
            (package.get("LastModifiedBy") or package.get("CreatedBy") or {}).get("UserProfileName")
        ) or "unknown"
        at = _timestamp(modified)
        return (
            ApprovalEvent(
                status=str(package.get("ModelApprovalStatus") or "PendingManualApproval"),
                actor=str(actor),
                at=at,
                note=package.get("ApprovalDescription"),
            ),
        )
