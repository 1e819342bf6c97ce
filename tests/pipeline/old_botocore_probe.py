"""Run by tests on the processing image's Python 3.9 and boto3 (1.28.57 / botocore 1.31.57).

``python old_botocore_probe.py BUNDLE SCENARIO`` imports mimsreg from the runtime bundle, points
a client at a stub HTTP server on 127.0.0.1 that records what arrives, runs one scenario and
prints one JSON document: what the server saw and what the client got. Standard library and
boto3 only, like the job.
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
from typing import Any

sys.path.insert(0, sys.argv[1])

import boto3
from botocore.config import Config

SEEN: list[dict[str, Any]] = []
STATE: dict[str, Any] = {"lease_expires": time.time() + 3600}

PRECONDITION_FAILED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>'
    b"<Message>At least one of the pre-conditions you specified did not hold</Message>"
    b"<Condition>If-None-Match</Condition><RequestId>stub</RequestId></Error>"
)


class Handler(http.server.BaseHTTPRequestHandler):
    """S3 for one lease object, and SageMaker's CreateModelPackage, recording each request."""

    def _record(self) -> bytes:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        SEEN.append(
            {
                "method": self.command,
                "path": self.path,
                "if_none_match": self.headers.get("If-None-Match"),
                "if_match": self.headers.get("If-Match"),
                "target": self.headers.get("X-Amz-Target"),
                "body": body.decode("utf-8", "replace") if self.headers.get("X-Amz-Target") else "",
            }
        )
        return body

    def _answer(self, status: int, body: bytes, kind: str, etag: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self) -> None:
        self._record()
        if self.headers.get("If-None-Match") == "*":  # the lease exists: the condition fails
            self._answer(412, PRECONDITION_FAILED, "application/xml")
        else:
            self._answer(200, b"", "application/xml", etag='"taken-over"')

    def do_GET(self) -> None:
        self._record()
        lease = {"holder": "someone-else", "expires_at": STATE["lease_expires"]}
        self._answer(200, json.dumps(lease).encode(), "application/json", etag='"held"')

    def do_DELETE(self) -> None:
        self._record()
        self._answer(204, b"", "application/xml")

    def do_POST(self) -> None:
        self._record()
        arn = "arn:aws:sagemaker:us-east-1:111111111111:model-package/g/1"
        self._answer(
            200, json.dumps({"ModelPackageArn": arn}).encode(), "application/x-amz-json-1.1"
        )

    def log_message(self, *args: Any) -> None:
        pass


def client(service: str, url: str) -> Any:
    config = Config(
        region_name="us-east-1",
        retries={"total_max_attempts": 1},
        s3={"addressing_style": "path"},
    )
    return boto3.client(service, endpoint_url=url, config=config)


def lock_scenario(url: str, expired: bool) -> dict[str, Any]:
    from mimsreg.engine.inventory.create_lock import CreateLock, LockTimeoutError

    if expired:
        STATE["lease_expires"] = time.time() - 1
    lock = CreateLock(client("s3", url), "bucket", "group", "us-east-1", wait_seconds=0)
    try:
        lock.acquire()
    except LockTimeoutError as exc:
        return {"outcome": "timeout", "message": str(exc)}
    lock._stop.set()  # no renewals: the scenario ends here
    return {"outcome": "acquired", "etag": lock._etag}


def security_config_scenario(url: str, adapted: bool) -> dict[str, Any]:
    from mimsreg.engine.aws_compat import adapt_client

    sagemaker = client("sagemaker", url)
    if adapted:
        adapt_client(sagemaker)
    try:
        sagemaker.create_model_package(
            ModelPackageGroupName="g",
            SecurityConfig={"KmsKeyId": "arn:aws:kms:us-east-1:111111111111:key/k"},
            ClientToken="mims-1",
        )
    except Exception as exc:  # what the unadapted client raises
        return {"outcome": type(exc).__name__, "message": str(exc)}
    return {"outcome": "sent"}


def main() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    import botocore

    scenario = sys.argv[2]
    if scenario in ("lock-held", "lock-expired"):
        result = lock_scenario(url, expired=scenario == "lock-expired")
    else:
        result = security_config_scenario(url, adapted=scenario == "security-config")
    server.shutdown()
    print(json.dumps({"botocore": botocore.__version__, "seen": SEEN, **result}))


if __name__ == "__main__":
    main()
