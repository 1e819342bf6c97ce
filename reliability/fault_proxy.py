"""A loopback proxy in front of a moto server that fails a share of the requests, as AWS can.

Built on ``bench/latency_proxy.py`` (a transparent relay: SigV4 still verifies). Each request is
faulted with probability ``rate``; the fault is drawn evenly from:

- ``internal``: HTTP 500 ``InternalError`` (S3, XML) / ``InternalFailure`` (SageMaker, JSON);
- ``throttle``: HTTP 503 ``SlowDown`` (S3) / HTTP 400 ``ThrottlingException`` (SageMaker);
- ``reset-before``: the connection is reset before the request reaches moto;
- ``reset-after``: moto executes the request, then the connection is reset before the answer
  reaches the client (a create that happened but looks failed: the case retries get wrong);
- ``delay``: the request is held 0.2 to 1.5 s, then relayed.

The error answers are complete HTTP responses with the bodies botocore parses, so the client sees
exactly what AWS would send; a reset is a TCP RST (``SO_LINGER`` 0). Requests are counted per
service and fault kind. The draw is seeded, but requests arrive from many threads in an order the
scheduler picks, so a seed fixes the mix, not which request gets which fault.
"""

from __future__ import annotations

import collections
import os
import random
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from latency_proxy import (
    LatencyHandler,
    LatencyProxyServer,
    body_framing,
    copy_chunked,
    copy_exact,
)

KINDS = ("internal", "throttle", "reset-before", "reset-after", "delay")

S3_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
    "<Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
)


def _error_response(status: int, reason: str, content_type: str, body: str) -> bytes:
    data = body.encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(data)}\r\nx-amzn-RequestId: fault-proxy\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + data


def error_answer(kind: str, sagemaker: bool) -> bytes:
    """The response AWS sends for an ``internal`` or ``throttle`` fault of this service."""
    if sagemaker:
        if kind == "throttle":
            body = '{"__type":"ThrottlingException","message":"Rate exceeded (fault proxy)"}'
            return _error_response(400, "Bad Request", "application/x-amz-json-1.1", body)
        body = '{"__type":"InternalFailure","message":"internal failure (fault proxy)"}'
        return _error_response(500, "Internal Server Error", "application/x-amz-json-1.1", body)
    if kind == "throttle":
        body = S3_ERROR.format(code="SlowDown", message="Please reduce your request rate.")
        return _error_response(503, "Slow Down", "application/xml", body)
    body = S3_ERROR.format(code="InternalError", message="We encountered an internal error.")
    return _error_response(500, "Internal Server Error", "application/xml", body)


class FaultHandler(LatencyHandler):
    """Relays like the latency proxy, except for the requests the server draws a fault for."""

    server: FaultProxyServer

    def _relay(self) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        sagemaker = headers.get("x-amz-target", "").startswith("SageMaker.")
        kind = self.server.draw("sagemaker" if sagemaker else "s3")
        if kind is None:
            super()._relay()
        elif kind == "delay":
            time.sleep(self.server.rng_uniform(0.2, 1.5))
            super()._relay()
        elif kind == "reset-after":
            self._relay_then_reset()
        else:
            # 100-continue: the client has not sent the body and will not once it has a final
            # answer; otherwise read the body first, so the answer is not lost to a reset.
            if headers.get("expect", "").lower() != "100-continue":
                self._drain_request_body(headers)
            if kind == "reset-before":
                self._reset()
            else:
                self.wfile.write(error_answer(kind, sagemaker))
                self.wfile.flush()
                self.close_connection = True

    def _drain_request_body(self, headers: dict[str, str]) -> None:
        with Path(os.devnull).open("wb") as sink:
            chunked, length = body_framing(headers)
            if chunked:
                copy_chunked(self.rfile, sink)
            elif length:
                copy_exact(self.rfile, sink, length)

    def _relay_then_reset(self) -> None:
        """Let moto execute the request, swallow its answer, reset the client's connection."""
        real_writer = self.wfile
        sink = Path(os.devnull).open("wb")  # noqa: SIM115 - closed below
        try:
            self.wfile = sink
            super()._relay()
        finally:
            self.wfile = real_writer
            sink.close()
        self._reset()

    def _reset(self) -> None:
        """Close the client's connection with a TCP RST (no FIN, no answer)."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self._close_upstream()
        self.connection.close()


class FaultProxyServer(LatencyProxyServer):
    """The proxy: ``rate`` (0..1) may be changed while it serves."""

    def __init__(self, upstream: str, rate: float, seed: int, port: int = 0) -> None:
        super().__init__(upstream, 0.0, port)
        self.RequestHandlerClass = FaultHandler
        self.rate = rate
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self.requests: collections.Counter[str] = collections.Counter()  # per service
        self.faults: collections.Counter[str] = collections.Counter()  # per kind
        self.faults_by_service: collections.Counter[tuple[str, str]] = collections.Counter()

    def draw(self, service: str) -> str | None:
        """The fault for the next request of ``service`` (None: relay it untouched); counted."""
        with self._rng_lock:
            self.requests[service] += 1
            if self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(KINDS)
            self.faults[kind] += 1
            self.faults_by_service[(service, kind)] += 1
            return kind

    def rng_uniform(self, low: float, high: float) -> float:
        with self._rng_lock:
            return self._rng.uniform(low, high)

    def reset_counts(self) -> None:
        with self._rng_lock:
            self.requests.clear()
            self.faults.clear()
            self.faults_by_service.clear()


@contextmanager
def fault_proxy(upstream: str, rate: float, seed: int) -> Iterator[FaultProxyServer]:
    """A fault proxy serving from a thread of this process until the block ends."""
    server = FaultProxyServer(upstream, rate, seed)
    thread = threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
