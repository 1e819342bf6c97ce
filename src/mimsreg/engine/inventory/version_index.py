"""An identity → version ARN index in the region's bucket, so a lookup costs the same whatever
the group's size.

SageMaker cannot look a version up by its metadata: the only way is to list the group and
describe each version, which grows with the group (1,000 versions: 10 list pages and up to 1,000
describes per registration). So each version mimsreg creates is recorded under
``mimsreg/index/<group>/<identity>.json``, written under the group's create lock:

- before the create, ``{"state": "creating", "client_token": ...}``; after it,
  ``{"state": "created", "arn": ...}``. A registration killed between the two leaves "creating",
  which the next lookup resolves by listing the group once (and rewrites);
- ``mimsreg/index/<group>/_complete.json`` says every version of the group that mimsreg made is
  indexed: written under the lock after one listing of the group has indexed them all (groups
  registered before the index existed, or by another bucket). With it, an identity that has no
  entry has no version; without it, a lookup lists the group as before.

Lookups verify what the index says with one DescribeModelPackage (the version may have been
deleted, or its creation failed), so a wrong entry costs a listing, never a wrong answer.

Portable (runs in the processing job on Python 3.9): standard library and botocore errors only.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from mimsreg.engine.inventory._aws_errors import ABSENT, error_code

__all__ = ["INDEX_PREFIX", "VersionIndex"]

INDEX_PREFIX = "mimsreg/index/"


class VersionIndex:
    """The index of one group in one region's bucket."""

    def __init__(self, s3: Any, bucket: str, group: str, kms_key_id: str | None = None) -> None:
        self._s3 = s3
        self.bucket = bucket
        self.group = group
        self._kms_key_id = kms_key_id

    def key(self, identity: str) -> str:
        return f"{INDEX_PREFIX}{self.group}/{identity}.json"

    @property
    def complete_key(self) -> str:
        return f"{INDEX_PREFIX}{self.group}/_complete.json"

    def _get(self, key: str) -> dict[str, Any] | None:
        try:
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except Exception as exc:
            if error_code(exc) in ABSENT:
                return None
            raise
        try:
            document = json.loads(body)
        except ValueError:
            return None  # unreadable: as if absent (a listing decides)
        return document if isinstance(document, dict) else None

    def _put(self, key: str, document: dict[str, Any]) -> None:
        extra: dict[str, Any] = {}
        if self._kms_key_id:
            extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=self._kms_key_id)
        self._s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=json.dumps(document, sort_keys=True).encode("utf-8"),
            ContentType="application/json",
            ChecksumAlgorithm="SHA256",
            **extra,
        )

    def entry(self, identity: str) -> dict[str, Any] | None:
        """What the index holds for ``identity``: ``{"state": ..., "arn": ...}``, or None."""
        return self._get(self.key(identity))

    def is_complete(self) -> bool:
        """Whether an identity without an entry certainly has no version in the group."""
        return self._get(self.complete_key) is not None

    def creating(self, identity: str, client_token: str) -> None:
        self._put(
            self.key(identity),
            {"state": "creating", "client_token": client_token, "at": _now()},
        )

    def created(self, identity: str, arn: str) -> None:
        self._put(self.key(identity), {"state": "created", "arn": arn, "at": _now()})

    def mark_complete(self, indexed: dict[str, str]) -> None:
        """Write an entry for each ``identity → arn`` found by a listing, then the marker."""
        for identity, arn in indexed.items():
            self.created(identity, arn)
        self._put(self.complete_key, {"complete": True, "versions": len(indexed), "at": _now()})


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
