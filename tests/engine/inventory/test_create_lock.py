"""The per-group create lock (S3 lease with conditional writes), against the moto server."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest

from mimsreg.engine.inventory.create_lock import (
    CreateLock,
    LockLostError,
    LockTimeoutError,
    lock_key,
)
from mimsreg.errors import InventoryError
from tests.conftest import TEST_BUCKET

pytestmark = pytest.mark.usefixtures("aws")

REGION = "us-east-1"
BUCKET = TEST_BUCKET.format(region=REGION)


def s3() -> Any:
    return boto3.client("s3", region_name=REGION)


def lease(client: Any, group: str = "g") -> dict[str, Any]:
    body = client.get_object(Bucket=BUCKET, Key=lock_key(group))["Body"].read()
    document: dict[str, Any] = json.loads(body)
    return document


def lock_exists(client: Any, group: str = "g") -> bool:
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix=lock_key(group))
    return bool(listing["KeyCount"])


def test_held_inside_the_block_and_gone_after() -> None:
    client = s3()
    with CreateLock(client, BUCKET, "g", REGION) as lock:
        document = lease(client)
        assert document["holder"] == lock.token
        assert document["group"] == "g"
        assert document["expires_at"] > time.time() + 20
        lock.check_held()
    assert not lock_exists(client)


def test_a_second_writer_waits_for_the_first() -> None:
    client = s3()
    order: list[str] = []
    first = CreateLock(client, BUCKET, "g", REGION)
    first.acquire()

    def second() -> None:
        with CreateLock(s3(), BUCKET, "g", REGION):
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(1.5)
    order.append("first done")
    first.release()
    thread.join(timeout=30)
    assert order == ["first done", "second"]


def test_locks_of_different_groups_do_not_wait_for_each_other() -> None:
    client = s3()
    with CreateLock(client, BUCKET, "a", REGION), CreateLock(client, BUCKET, "b", REGION) as b:
        assert b.waited < 1.0


def test_a_waiter_gives_up_with_a_clear_error_naming_group_region_and_key() -> None:
    client = s3()
    with CreateLock(client, BUCKET, "g", REGION):
        waiter = CreateLock(client, BUCKET, "g", REGION, wait_seconds=1.0)
        with pytest.raises(LockTimeoutError) as caught:
            waiter.acquire()
    message = str(caught.value)
    assert isinstance(caught.value, InventoryError)
    assert "us-east-1" in message
    assert "'g'" in message
    assert f"s3://{BUCKET}/mimsreg/locks/g.json" in message
    assert "mimsreg gc" in message


def test_an_expired_lease_of_a_dead_holder_is_taken_over() -> None:
    client = s3()
    dead = CreateLock(client, BUCKET, "g", REGION, lease_seconds=0.5)
    dead._etag = dead._put(IfNoneMatch="*")  # written, never renewed nor released: killed
    time.sleep(0.7)
    with CreateLock(client, BUCKET, "g", REGION, wait_seconds=5) as taker:
        assert lease(client)["holder"] == taker.token
    assert not lock_exists(client)


def test_our_own_write_whose_answer_was_lost_is_recognised() -> None:
    client = s3()
    lock = CreateLock(client, BUCKET, "g", REGION, wait_seconds=2)
    lock._put(IfNoneMatch="*")  # landed, but say the answer never came back
    started = time.monotonic()
    lock.acquire()
    assert time.monotonic() - started < 1.0  # no wait for our own lease to run out
    lock.release()
    assert not lock_exists(client)


def test_the_holder_renews_its_lease_while_it_works() -> None:
    client = s3()
    with CreateLock(client, BUCKET, "g", REGION, lease_seconds=0.9):
        first = lease(client)["expires_at"]
        time.sleep(1.2)  # past the first lease: renewed every 0.3 s
        assert lease(client)["expires_at"] > first
        waiter = CreateLock(client, BUCKET, "g", REGION, wait_seconds=0.5)
        with pytest.raises(LockTimeoutError):
            waiter.acquire()


def test_a_lease_taken_over_is_noticed_before_anything_is_created() -> None:
    client = s3()
    lock = CreateLock(client, BUCKET, "g", REGION, lease_seconds=0.6)
    lock.acquire()
    lock._stop.set()  # the holder stalls: no more renewals
    lock._renewer.join()  # type: ignore[union-attr]
    time.sleep(0.8)
    with CreateLock(client, BUCKET, "g", REGION, wait_seconds=5) as other:
        lock.renew()
        with pytest.raises(LockLostError, match="ran out before the version was created"):
            lock.check_held()
        lock.release()  # must not delete the other holder's lease
        assert lease(client)["holder"] == other.token


def test_release_leaves_a_lease_another_writer_holds() -> None:
    client = s3()
    lock = CreateLock(client, BUCKET, "g", REGION)
    lock.acquire()
    # Someone took it over (the lease ran out while this process was stopped).
    client.put_object(
        Bucket=BUCKET,
        Key=lock_key("g"),
        Body=json.dumps({"holder": "someone-else", "expires_at": time.time() + 30}).encode(),
    )
    lock.release()
    assert lease(client)["holder"] == "someone-else"


def test_an_unreadable_lease_counts_as_expired() -> None:
    client = s3()
    client.put_object(Bucket=BUCKET, Key=lock_key("g"), Body=b"not json")
    with CreateLock(client, BUCKET, "g", REGION, wait_seconds=5) as lock:
        assert lease(client)["holder"] == lock.token


def test_kms_settings_go_with_every_write() -> None:
    sent: list[dict[str, Any]] = []
    client = s3()
    real_put = client.put_object

    def put_object(**kwargs: Any) -> Any:
        sent.append(kwargs)
        return real_put(**kwargs)

    client.put_object = put_object
    with CreateLock(client, BUCKET, "g", REGION, kms_key_id="alias/mims"):
        pass
    assert sent
    assert all(
        (k["ServerSideEncryption"], k["SSEKMSKeyId"]) == ("aws:kms", "alias/mims") for k in sent
    )


def test_other_s3_errors_are_not_mistaken_for_a_held_lock() -> None:
    client = s3()
    lock = CreateLock(client, "no-such-bucket-here", "g", REGION, wait_seconds=1)
    with pytest.raises(Exception, match="NoSuchBucket"):
        lock.acquire()


def test_a_renewal_whose_answer_was_lost_keeps_the_lease() -> None:
    """The renewal landed (new ETag) but its answer did not: the next renewal's If-Match fails,
    and the lease, still holding this holder's token, is adopted rather than given up."""
    client = s3()
    lock = CreateLock(client, BUCKET, "g", REGION)
    lock.acquire()
    lock._stop.set()  # renew by hand only
    lock._renewer.join()  # type: ignore[union-attr]
    lock._put(IfMatch=str(lock._etag))  # landed; lock._etag is now stale
    lock.renew()
    lock.check_held()
    assert lease(client)["holder"] == lock.token
    lock.release()
    assert not lock_exists(client)


def test_a_lease_is_judged_by_s3s_clock_not_the_holders() -> None:
    """A holder whose clock is an hour slow writes an ``expires_at`` already past; the lease
    still holds, because expiry is S3's ``Date`` minus the object's ``LastModified``."""
    client = s3()
    slow = CreateLock(client, BUCKET, "g", REGION, clock=lambda: time.time() - 3600)
    slow.acquire()
    try:
        assert lease(client)["expires_at"] < time.time()
        waiter = CreateLock(client, BUCKET, "g", REGION, wait_seconds=1.0)
        with pytest.raises(LockTimeoutError):
            waiter.acquire()
        assert lease(client)["holder"] == slow.token
    finally:
        slow.release()


def test_release_deletes_only_the_lease_it_wrote() -> None:
    """The release is a delete conditional on the ETag the holder last wrote (``If-Match``)."""
    client = s3()
    sent: list[Any] = []
    client.meta.events.register(
        "before-send.s3.DeleteObject", lambda request, **_: sent.append(request)
    )
    with CreateLock(client, BUCKET, "g", REGION) as lock:
        etag = lock._etag
    (delete,) = sent
    assert delete.headers["If-Match"] == str(etag).encode()
    assert client.list_objects_v2(Bucket=BUCKET, Prefix="mimsreg/locks/")["KeyCount"] == 0
