"""``mimsreg`` with phase markers on stderr, so reliability/crash.py can tell where a kill landed.

Run as ``python reliability/_traced_register.py register MODEL --config ...``: the real CLI, with
a few of mimsreg's functions and every boto3 call wrapped to write, before they start, one line
``@@phase SECONDS REGION PHASE`` to file descriptor 2 (unbuffered: a SIGKILL loses nothing
written). Nothing else changes: the registration does exactly what ``mimsreg register`` does.

Phases: ``startup`` (no marker yet: interpreter and imports), ``config``, ``inspect`` (the
archive's streaming pass), ``payload`` (the sample payload), ``lookup`` (the identity among
existing versions), ``store-copy`` (local: artifact into the store, verified),
``db-transaction``, ``db-commit``, ``db-committed`` (local: a write transaction), and for
SageMaker ``stage-check`` (HeadObject), ``upload`` (single or multipart),
``cross-region-copy``, ``documents`` (record, schema, approval history), ``group``,
``create-lock`` (the group's lease: taken, renewed, released), ``version-create``,
``version-created``; ``exit`` once the CLI returns.
"""

from __future__ import annotations

import atexit
import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

START = time.monotonic()
_region = threading.local()

# boto3 operation → phase (PutObject depends on the key: artifacts are uploads, JSON documents)
OPERATION_PHASES = {
    "ListModelPackages": "lookup",
    "DescribeModelPackage": "lookup",
    "HeadObject": "stage-check",
    "CreateMultipartUpload": "upload",
    "UploadPart": "upload",
    "CompleteMultipartUpload": "upload",
    "CopyObject": "cross-region-copy",
    "UploadPartCopy": "cross-region-copy",
    "DescribeModelPackageGroup": "group",
    "CreateModelPackageGroup": "group",
    "CreateModelPackage": "version-create",
}


# ``MIMSREG_CRASH_AT=PHASE:N``: SIGKILL this process right after the N-th marker of PHASE, so
# short phases (a transaction's commit, the moment after CreateModelPackage) are hit on purpose.
_CRASH_PHASE, _, _CRASH_COUNT = os.environ.get("MIMSREG_CRASH_AT", "").partition(":")
_seen: dict[str, int] = {}
_seen_lock = threading.Lock()


# ``MIMSREG_MODIFY_AT=PHASE:N`` with ``MIMSREG_MODIFY_FILE=PATH:OFFSET``: change one byte of the
# archive there (reliability/modified_archive.py: a file that changes during a registration).
_MODIFY_PHASE, _, _MODIFY_COUNT = os.environ.get("MIMSREG_MODIFY_AT", "").partition(":")


def _modify() -> None:
    path, _, offset = os.environ["MIMSREG_MODIFY_FILE"].rpartition(":")
    with Path(path).open("r+b") as handle:
        handle.seek(int(offset))
        byte = handle.read(1)
        handle.seek(int(offset))
        handle.write(bytes([byte[0] ^ 0xFF]))
    os.write(2, f"@@modified {time.monotonic() - START:.4f}\n".encode())


def mark(phase: str, region: str | None = None) -> None:
    where = region or getattr(_region, "name", None) or "-"
    os.write(2, f"@@phase {time.monotonic() - START:.4f} {where} {phase}\n".encode())
    if phase not in (_CRASH_PHASE, _MODIFY_PHASE):
        return
    with _seen_lock:
        _seen[phase] = _seen.get(phase, 0) + 1
        if phase == _MODIFY_PHASE and _seen[phase] == int(_MODIFY_COUNT or 1):
            _modify()
        if phase == _CRASH_PHASE and _seen[phase] == int(_CRASH_COUNT or 1):
            os.kill(os.getpid(), signal.SIGKILL)


def _before(phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        mark(phase)
        return function(*args, **kwargs)

    return wrapper


def _boto_hooks(region: str) -> Callable[..., None]:
    def before_call(model: Any, params: dict[str, Any], **_: Any) -> None:
        phase = OPERATION_PHASES.get(model.name)
        key = str(params.get("Key"))
        if model.name == "PutObject":
            phase = "upload" if "/artifacts/" in key else "documents"
        if model.name in ("PutObject", "GetObject", "DeleteObject") and "/locks/" in key:
            phase = "create-lock"
        if phase is not None:
            mark(phase, region)

    return before_call


def _after_create(region: str) -> Callable[..., None]:
    def after_call(model: Any, **_: Any) -> None:
        if model.name == "CreateModelPackage":
            mark("version-created", region)

    return after_call


def short_lease() -> None:
    """``MIMSREG_TEST_LEASE_SECONDS``: the create lock's lease in this process, and gc's age of a
    stale lock (twice it), so that a crash run can wait out a killed holder's lease and check
    that gc removes its lock (the product's 30 s would leave it younger than gc's 60 s)."""
    seconds = os.environ.get("MIMSREG_TEST_LEASE_SECONDS")
    if not seconds:
        return
    from mimsreg.engine.inventory import create_lock, gc

    defaults = create_lock.CreateLock.__init__.__kwdefaults__
    defaults["lease_seconds"] = float(seconds)
    gc.MIN_LOCK_AGE = 2 * float(seconds)


def install() -> None:
    import mimsreg.engine.execute as execute
    import mimsreg.engine.register as flow
    from mimsreg.engine.inventory.local import LocalInventory
    from mimsreg.engine.inventory.sagemaker import SageMakerInventory

    flow.inspect_package = _before("inspect", flow.inspect_package)  # type: ignore[assignment]
    flow.prepare_payload = _before("payload", flow.prepare_payload)  # type: ignore[assignment]

    register_region = execute._register_region

    def traced_region(inventory: Any, region: Any, *args: Any) -> Any:
        _region.name = region.region
        mark("lookup")
        return register_region(inventory, region, *args)

    execute._register_region = traced_region
    LocalInventory._store = _before("store-copy", LocalInventory._store)  # type: ignore[method-assign]
    write = LocalInventory._write

    @contextmanager
    def traced_write(self: LocalInventory) -> Iterator[Any]:
        mark("db-transaction")
        with write(self) as connection:
            yield connection
            mark("db-commit")  # the statements ran; COMMIT is next
        mark("db-committed")

    LocalInventory._write = traced_write  # type: ignore[method-assign,assignment]
    make_client = SageMakerInventory._make_client

    def traced_client(
        self: SageMakerInventory, region: str, service: str, max_attempts: int | None = None
    ) -> Any:
        client = make_client(self, region, service, max_attempts)
        client.meta.events.register("before-call.*.*", _boto_hooks(region))
        client.meta.events.register("after-call.*.*", _after_create(region))
        return client

    SageMakerInventory._make_client = traced_client  # type: ignore[method-assign]


def main() -> None:
    from mimsreg.cli import cli

    install()
    short_lease()
    mark("config")  # imports done; the configuration is read next
    atexit.register(mark, "exit", "-")
    cli(sys.argv[1:], prog_name="mimsreg")


if __name__ == "__main__":
    main()
