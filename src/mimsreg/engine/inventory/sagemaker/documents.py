"""The JSON documents kept beside the artifact: the full record, the variable schema and the
approval history (SageMaker keeps the last decision only).

The approval history is appended with S3 conditional writes (:func:`append_approval`): read it
with its ETag, append, write with ``If-Match`` on that ETag (``If-None-Match: *`` when there is
none yet); a concurrent writer's append makes the write fail, and it is read again and retried,
so no event is lost and the events keep the order of their writes. The package's status then
follows the history's last event (``Documents._record_approval``), whoever wrote it.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mimsreg.engine.aws_compat import adapt_client
from mimsreg.engine.aws_rules import entity_description
from mimsreg.engine.errors import InventoryError
from mimsreg.engine.inventory._aws_errors import ABSENT, error_code
from mimsreg.engine.inventory.base import ApprovalEvent
from mimsreg.engine.inventory.sagemaker._base import (
    SageMakerBase,
    _history_uri,
    _now,
    _parse_s3_uri,
    _timestamp,
    s3_uri,
)
from mimsreg.engine.plan import RegionPlan

__all__ = ["APPEND_ATTEMPTS", "Documents", "append_approval", "approval_description"]

# Conditional appends tried before giving up: each failure means another writer's append landed.
APPEND_ATTEMPTS = 64
SETTLE_ROUNDS = 64
# Codes S3 answers a conditional write with when the condition does not hold (as create_lock).
_CONDITION_FAILED = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")


def approval_description(event: ApprovalEvent) -> str:
    """The ``ApprovalDescription`` SageMaker keeps for a decision: its note and who made it."""
    return entity_description(
        f"{event.note} (by {event.actor})" if event.note else f"by {event.actor}"
    )


def _events(document: Any, uri: str) -> tuple[ApprovalEvent, ...]:
    """The events of a history document; InventoryError when it is not a list of events."""
    try:
        if not isinstance(document, list):
            raise TypeError(type(document).__name__)
        return tuple(
            ApprovalEvent(str(e["status"]), str(e["actor"]), str(e["at"]), e.get("note"))
            for e in document
        )
    except (TypeError, KeyError, AttributeError) as exc:
        raise InventoryError(
            f"{uri}: the approval history is not a list of events ({exc}); it was left as it is"
        ) from exc


def read_history(s3: Any, uri: str) -> tuple[str, tuple[ApprovalEvent, ...]] | None:
    """(ETag, events) of the history at ``uri``; None when there is none."""
    bucket, key = _parse_s3_uri(uri)
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if error_code(exc) in ABSENT:
            return None
        raise
    try:
        document = json.loads(response["Body"].read())
    except ValueError as exc:
        raise InventoryError(
            f"{uri}: the approval history is not JSON ({exc}); it was left as it is"
        ) from exc
    return str(response["ETag"]), _events(document, uri)


def append_approval(
    s3: Any,
    uri: str,
    status: str,
    actor: str,
    note: str | None = None,
    *,
    kms_key_id: str | None = None,
    initial: Callable[[], Sequence[ApprovalEvent]] = tuple,
    attempts: int = APPEND_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[ApprovalEvent, ...]:
    """Append one event (stamped now) to the approval history at ``uri``; the history written.

    A conditional write on the ETag read (``If-None-Match: *`` when there is no history yet,
    which then starts from ``initial()``); when another writer's append lands first, the write
    is refused and the history read again. Every lifecycle change (approve, reject, pending)
    appends through here.
    """
    s3 = adapt_client(s3)  # old botocore: the conditions go out as headers
    bucket, key = _parse_s3_uri(uri)
    extra: dict[str, Any] = {}
    if kms_key_id:
        extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key_id)
    for attempt in range(attempts):
        current = read_history(s3, uri)
        condition = {"IfNoneMatch": "*"} if current is None else {"IfMatch": current[0]}
        before = tuple(initial()) if current is None else current[1]
        history = (*before, ApprovalEvent(status, actor, _now(), note))
        body = json.dumps([e.to_dict() for e in history], indent=2, sort_keys=True)
        try:
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=body.encode("utf-8"),
                ContentType="application/json",
                ChecksumAlgorithm="SHA256",
                **condition,
                **extra,
            )
            return history
        except Exception as exc:
            # Refused: another append landed (or the history was removed) since it was read.
            if error_code(exc) not in (*_CONDITION_FAILED, *ABSENT):
                raise
        sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))
    raise InventoryError(
        f"{uri}: the approval history kept changing under {attempts} attempts to append to it; "
        "nothing was appended. Re-run to try again"
    )


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
            return _events(self._get_json(region, uri), uri)
        except Exception:  # absent or unreadable: fall back to SageMaker's last decision
            return ()

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

    def _record_approval(
        self,
        region: str,
        arn: str,
        history_uri: str,
        event: ApprovalEvent,
        *,
        kms_key_id: str | None = None,
        initial: Callable[[], Sequence[ApprovalEvent]] = tuple,
    ) -> None:
        """Append ``event`` (its status, actor and note; stamped now) to the history, then make
        the package's status the history's last event: the history orders concurrent decisions
        and the status follows it. Written first, so a crash in between leaves the decision in
        the history, and the next decision settles the status."""
        append_approval(
            self._s3(region),
            history_uri,
            event.status,
            event.actor,
            event.note,
            kms_key_id=kms_key_id,
            initial=initial,
        )
        self._settle_status(region, arn, history_uri)

    def _settle_status(self, region: str, arn: str, history_uri: str) -> None:
        """Set the status (and description) of the history's last event until the history reads
        the same after the update: an update made from a read that another append overtook is
        then followed by one from a read that none did, so the last update to land is the last
        event's, whichever writer's it is."""
        s3 = adapt_client(self._s3(region))
        current = read_history(s3, history_uri)
        for _ in range(SETTLE_ROUNDS):
            if current is None or not current[1]:
                return  # removed meanwhile (the version deleted): nothing to follow
            last = current[1][-1]
            self._sagemaker(region).update_model_package(
                ModelPackageArn=arn,
                ModelApprovalStatus=last.status,  # type: ignore[arg-type]
                ApprovalDescription=approval_description(last),
            )
            again = read_history(s3, history_uri)
            if again is not None and again[0] == current[0]:
                return
            current = again
        raise InventoryError(
            f"{history_uri}: the approval history kept changing while the status of {arn} was "
            "set from it; the status may not be its last event. Re-run the approval"
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
