"""A per-group create lock in S3, so that two writers never create the same version twice.

SageMaker has no "create if absent" for model package versions: two processes that look up an
identity at once both find nothing and both create it (AWS honours ``ClientToken`` for a retried
request, but moto and other emulators do not, and a lookup-then-create is not atomic anywhere).
So the lookup and the create run under a lease: the object ``mimsreg/locks/<group>.json`` in the
region's bucket, written with ``If-None-Match: *`` (S3 conditional writes: exactly one writer
gets it), holding the holder's token and when its lease ends. The holder renews it every
``LEASE_SECONDS / 3`` with ``If-Match`` on its ETag and deletes it when done; a lease that has
run out (its holder was killed) is taken over with ``If-Match`` on the ETag that was read, so
two waiters cannot both take it. ``mimsreg gc`` removes locks older than twice the lease.

Portable (runs in the processing job on Python 3.9): stdlib and botocore errors only.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any

from mimsreg.engine.aws_compat import adapt_client
from mimsreg.engine.errors import LockLostError, LockTimeoutError
from mimsreg.engine.inventory._aws_errors import ABSENT, error_code

__all__ = [
    "LEASE_SECONDS",
    "LOCK_PREFIX",
    "WAIT_SECONDS",
    "CreateLock",
    "LockLostError",
    "LockTimeoutError",
    "lock_key",
]

LOCK_PREFIX = "mimsreg/locks/"
LEASE_SECONDS = 30.0
WAIT_SECONDS = 120.0
# Codes S3 answers a conditional write with when the condition does not hold.
_CONDITION_FAILED = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")


def lock_key(group: str) -> str:
    return f"{LOCK_PREFIX}{group}.json"


def _s3_age(response: Any) -> float | None:
    """Seconds since the object was last written, by S3's clock: the response's ``Date`` minus
    its ``LastModified`` (both whole seconds); None when either is missing."""
    headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    modified = response.get("LastModified")
    try:
        now = email.utils.parsedate_to_datetime(str(headers["date"]))
    except (KeyError, TypeError, ValueError):
        return None
    if not isinstance(modified, datetime):
        return None
    return (now - modified).total_seconds()


class CreateLock:
    """``with CreateLock(s3, bucket, group, region):`` — held, and renewed, inside the block."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        group: str,
        region: str,
        *,
        kms_key_id: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        wait_seconds: float = WAIT_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._s3 = adapt_client(s3)  # old botocore: the conditions go out as headers
        self.bucket = bucket
        self.key = lock_key(group)
        self.group = group
        self.region = region
        self.token = uuid.uuid4().hex  # who holds it: survives a retried write
        self._kms_key_id = kms_key_id
        self._lease = lease_seconds
        self._wait = wait_seconds
        self._clock = clock
        self._sleep = sleep
        self._etag: str | None = None
        self._lost = False
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self.waited = 0.0  # seconds spent waiting for another holder

    # --- the lease object ---------------------------------------------------------------------
    def _body(self) -> bytes:
        document = {
            "holder": self.token,
            "group": self.group,
            "expires_at": self._clock() + self._lease,
            "lease_seconds": self._lease,
        }
        return json.dumps(document).encode()

    def _put(self, **condition: str) -> str:
        extra: dict[str, Any] = {}
        if self._kms_key_id:
            extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=self._kms_key_id)
        response = self._s3.put_object(
            Bucket=self.bucket,
            Key=self.key,
            Body=self._body(),
            ContentType="application/json",
            **condition,
            **extra,
        )
        return str(response["ETag"])

    def _read(self) -> tuple[str, dict[str, Any]] | None:
        """(ETag, document) of the current lease; None when there is none. The document gains
        ``_expired``: judged by S3's clock (its ``Date`` now minus the object's
        ``LastModified``) against the lease's length, so a holder's or waiter's wrong clock
        cannot end a lease early; by the holder's ``expires_at`` only when S3 gave no times."""
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=self.key)
        except Exception as exc:
            if error_code(exc) in ABSENT:
                return None
            raise
        try:
            document = json.loads(response["Body"].read())
        except ValueError:
            document = None
        if not isinstance(document, dict) or "holder" not in document:
            # Unreadable: treated as expired, so it cannot block forever.
            return str(response["ETag"]), {"_expired": True}
        lease = float(document.get("lease_seconds") or self._lease)
        age = _s3_age(response)
        if age is not None:
            # S3's times are whole seconds: one more second before a lease counts as run out.
            document["_expired"] = age >= lease + 1.0
        else:
            document["_expired"] = float(document.get("expires_at") or 0) <= self._clock()
        return str(response["ETag"]), document

    # --- acquire / renew / release -------------------------------------------------------------
    def acquire(self) -> None:
        started = self._clock()
        while True:
            try:
                self._etag = self._put(IfNoneMatch="*")
                break
            except Exception as exc:
                if error_code(exc) not in _CONDITION_FAILED:
                    raise
            current = self._read()
            if current is None:
                continue  # released meanwhile
            etag, document = current
            if document.get("holder") == self.token:
                # Our own write landed but its answer was lost, and the retry found it.
                self._etag = etag
                break
            if document["_expired"]:
                try:
                    self._etag = self._put(IfMatch=etag)  # take over the expired lease
                    break
                except Exception as exc:
                    if error_code(exc) not in (*_CONDITION_FAILED, *ABSENT):
                        raise
                    continue
            if self._clock() - started >= self._wait:
                raise LockTimeoutError(
                    f"{self.region}: model package group {self.group!r} is being registered by "
                    f"another writer; its create lock s3://{self.bucket}/{self.key} was still "
                    f"held after {self._wait:.0f} s. Re-run to try again; `mimsreg gc` removes "
                    "a lock whose holder died"
                )
            self._sleep(random.uniform(0.2, 1.0))
        self.waited = self._clock() - started
        self._stop.clear()
        self._renewer = threading.Thread(
            target=self._renew_until_stopped, name=f"mimsreg-lock-{self.region}", daemon=True
        )
        self._renewer.start()

    def _renew_until_stopped(self) -> None:
        while not self._stop.wait(self._lease / 3) and not self._lost:
            self.renew()

    def renew(self) -> None:
        """Extend the lease, if it is still ours; otherwise note that it was lost."""
        try:
            self._etag = self._put(IfMatch=str(self._etag))
        except Exception as exc:
            if error_code(exc) not in (*_CONDITION_FAILED, *ABSENT):
                return  # network: the next tick retries, a lease lasts three ticks
            try:
                current = self._read()
            except Exception:
                return  # unknown yet: the next tick looks again
            if current is not None and current[1].get("holder") == self.token:
                # An earlier renewal landed but its answer was lost: the lease is ours still.
                self._etag = current[0]
            else:
                self._lost = True

    def check_held(self) -> None:
        """Raise if the lease was lost: what follows must not run unprotected."""
        if self._lost:
            raise LockLostError(
                f"{self.region}: the create lock of model package group {self.group!r} ran out "
                "before the version was created (its renewals failed, or the process stalled, "
                f"for longer than its {self._lease:.0f} s lease, and another writer took it "
                "over); nothing was created. Re-run to try again"
            )

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None
        if self._lost or self._etag is None:
            return
        # Only the lease as we last wrote it: a lease taken over meanwhile has another ETag and
        # the delete is refused (412), never removing the new holder's lease. Refused or
        # unreachable, an unreleased lease expires and gc removes it.
        with contextlib.suppress(Exception):
            self._s3.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=str(self._etag))
        self._etag = None

    def __enter__(self) -> CreateLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
