"""A loopback proxy in front of a moto server that refuses what AWS refuses, as AWS does.

moto accepts requests AWS refuses and differs where AWS keeps state (see ``docs/aws-fidelity.md``).
This proxy sits between boto3 (``AWS_ENDPOINT_URL`` points here) and moto, on 127.0.0.1 only. Each
rule of ``tests/support/aws_rules.py`` (``RULES``: id, what AWS refuses, its source) is enforced
here, answering with AWS's status, error code and a message like AWS's, in the wire format
botocore parses (S3: XML ``<Error>``; SageMaker: JSON 1.1 ``__type``/``message``). Rules are
switched with ``server.enabled`` (a set of ids); every refusal is recorded in ``server.refusals``
and every request counted per operation in ``server.requests``.

Unlike ``bench/latency_proxy.py``, whose approach it follows (one upstream connection per client
connection, the request head relayed in order, so SigV4 stays valid), the proxy reads each request
and each answer whole: the rules need the body, and some answers are rewritten. moto does not
verify signatures, so a rewritten body is still accepted. The proxy looks up what it needs (a
bucket's region, an object's ETag, a package before an update) with its own boto3 clients sent
straight to moto, so those calls are not counted.
"""

from __future__ import annotations

import collections
import http.client
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support import strict_s3, strict_sagemaker
from tests.support.aws_rules import RULES
from tests.support.wire import (
    JSON_CONTENT_TYPE,
    Refusal,
    Request,
    Response,
    classify_s3,
    decode_http_chunked,
    s3_error,
    sagemaker_error,
)

__all__ = ["RULES", "Refusal", "StrictAwsServer", "strict_aws_proxy"]

_SIGV4_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/")


# --- the proxy --------------------------------------------------------------------------------


class StrictHandler(BaseHTTPRequestHandler):
    """Reads a request whole, lets the server's rules answer or forward it, writes the answer."""

    protocol_version = "HTTP/1.1"
    server: StrictAwsServer

    def setup(self) -> None:
        super().setup()
        self._upstream: http.client.HTTPConnection | None = None

    def finish(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
        super().finish()

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the test output is the place for failures, not for traffic

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        # parse_request answers Expect: 100-continue itself (the body is needed to judge).
        if not self.parse_request():
            return
        try:
            request = self._read_request()
            response = self._answer(request)
            self._write(response)
        except (ConnectionError, OSError, ValueError, http.client.HTTPException):
            self.close_connection = True
            if self._upstream is not None:
                self._upstream.close()
                self._upstream = None

    def _answer(self, request: Request) -> Response:
        try:
            return self.server.handle(request, self.forward)
        except (ConnectionError, OSError, http.client.HTTPException):
            raise  # moto went away: the connection is closed, as a network fault would
        except Exception as exc:
            # A fault of the proxy itself: answered as AWS's internal error (botocore retries,
            # then fails) and recorded, so the strict_aws fixture can fail the test loudly.
            self.server.note_error(request, exc)
            message = f"strict AWS proxy: {type(exc).__name__}: {exc}"
            if request.service == "sagemaker":
                return sagemaker_error(500, "InternalFailure", message)
            return s3_error(500, "InternalError", message, head=request.method == "HEAD")

    def _read_request(self) -> Request:
        headers = list(self.headers.items())
        lowered = {k.lower(): v for k, v in headers}
        if "chunked" in lowered.get("transfer-encoding", "").lower():
            raw = self._read_chunked()
            payload = decode_http_chunked(raw)
        else:
            raw = self.rfile.read(int(lowered.get("content-length") or 0))
            payload = raw
        scope = _SIGV4_SCOPE.search(lowered.get("authorization", "")) or _SIGV4_SCOPE.search(
            "Credential=" + unquote(self.path.partition("X-Amz-Credential=")[2])
        )
        service = scope.group("service") if scope else ""
        target = lowered.get("x-amz-target", "")
        if target.startswith("SageMaker."):
            service = "sagemaker"
        return Request(
            self.command,
            self.path,
            headers,
            raw,
            payload,
            scope.group("region") if scope else "us-east-1",
            service,
            operation=target.partition(".")[2],
        )

    def _read_chunked(self) -> bytes:
        out = bytearray()
        while True:
            line = self.rfile.readline(65537)
            out += line
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while True:
                    trailer = self.rfile.readline(65537)
                    out += trailer
                    if trailer in (b"\r\n", b"\n", b""):
                        return bytes(out)
            out += self.rfile.read(size + 2)

    def forward(self, request: Request, body: bytes | None = None) -> Response:
        """Send the request to moto (``body``: a rewritten payload) and read its answer whole."""
        if self._upstream is None:
            host, port = self.server.upstream
            self._upstream = http.client.HTTPConnection(host, port, timeout=60)
        connection = self._upstream
        connection.putrequest(
            request.method, request.target, skip_host=True, skip_accept_encoding=True
        )
        # The body goes whole, so no 100-continue and no HTTP chunking towards moto.
        drop = ("expect", "transfer-encoding", "content-length")
        for name, value in request.without_headers(*drop):
            connection.putheader(name, value)
        data = request.payload if body is None else body
        connection.putheader("Content-Length", str(len(data)))
        connection.endheaders(data)
        answer = connection.getresponse()
        content = answer.read()
        if answer.will_close:
            connection.close()
            self._upstream = None
        headers = [(k, v) for k, v in answer.getheaders() if k.lower() != "transfer-encoding"]
        return Response(answer.status, answer.reason, headers, content)

    def _write(self, response: Response) -> None:
        lines = [f"HTTP/1.1 {response.status} {response.reason}\r\n"]
        head_request = self.command == "HEAD"
        for name, value in response.headers:
            if name.lower() == "content-length" and not head_request:
                continue
            if name.lower() == "connection":
                continue
            lines.append(f"{name}: {value}\r\n")
        if not head_request:
            lines.append(f"Content-Length: {len(response.body)}\r\n")
        elif response.header("content-length") is None:
            lines.append("Content-Length: 0\r\n")
        lines.append("\r\n")
        self.wfile.write(
            "".join(lines).encode("latin-1") + (b"" if head_request else response.body)
        )
        self.wfile.flush()


Forward = Callable[..., Response]


class StrictAwsServer(ThreadingHTTPServer):
    """The strict proxy. ``enabled``: rule ids in force (all by default)."""

    daemon_threads = True

    def __init__(self, upstream: str, enabled: set[str] | None = None, port: int = 0) -> None:
        parts = urlsplit(upstream)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the strict proxy relays to loopback only, not {upstream!r}")
        self.upstream_url = upstream
        self.upstream = (parts.hostname, parts.port or 80)
        self.enabled: set[str] = set(RULES) if enabled is None else set(enabled)
        self.refusals: list[Refusal] = []
        self.requests: collections.Counter[str] = collections.Counter()
        # ClientToken replays: (operation, whether the body differed from the first call's).
        self.replays: list[tuple[str, bool]] = []
        # Faults of the proxy itself (a rule that raised): "operation: exception".
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._bucket_regions: dict[str, str] = {}
        self._client_tokens: dict[tuple[str, str], tuple[str, Response]] = {}
        self._clients: dict[tuple[str, str], Any] = {}
        self._kept: dict[tuple[str, str], dict[str, Any]] = {}  # (region, ARN) -> fields
        self._searches: dict[str, list[Any]] = {}  # search id -> moto's whole answer
        self._deleted: set[tuple[str, str]] = set()  # (region, ARN) of deleted model packages
        super().__init__(("127.0.0.1", port), StrictHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def reset(self) -> None:
        """Forget state (after moto was reset) and counts; every rule enabled again."""
        with self._lock:
            self.enabled = set(RULES)
            self.refusals.clear()
            self.requests.clear()
            self.replays.clear()
            self.errors.clear()
            self._bucket_regions.clear()
            self._client_tokens.clear()
            self._kept.clear()
            self._searches.clear()
            self._deleted.clear()

    def refusal_rules(self) -> list[str]:
        return [refusal.rule for refusal in self.refusals]

    # --- dispatch ---------------------------------------------------------------------------
    def handle(self, request: Request, forward: Forward) -> Response:
        if request.target.startswith("/moto-api"):
            return forward(request)
        if request.service == "sagemaker":
            with self._lock:
                self.requests[f"sagemaker:{request.operation}"] += 1
            return strict_sagemaker.handle(self, request, forward)
        if request.service == "s3":
            parts = urlsplit(request.target)
            bucket, _, key = parts.path.lstrip("/").partition("/")
            request.bucket = unquote(bucket) or None
            request.key = unquote(key) or None
            request.query = parse_qs(parts.query, keep_blank_values=True)
            request.operation = classify_s3(request)
            with self._lock:
                self.requests[f"s3:{request.operation}"] += 1
            return strict_s3.handle(self, request, forward)
        with self._lock:
            self.requests[f"{request.service or 'unknown'}:{request.method}"] += 1
        return forward(request)

    def refuse(self, rule: str, request: Request, response: Response, message: str) -> Response:
        """Record the refusal ``response`` of ``rule`` (``message``: what it was about)."""
        if response.body and response.header("content-type") == JSON_CONTENT_TYPE:
            code = json.loads(response.body)["__type"]
        elif response.body:
            found = re.search(rb"<Code>([^<]+)</Code>", response.body)
            code = found.group(1).decode() if found else ""
        else:
            code = str(response.status)
        with self._lock:
            self.refusals.append(
                Refusal(
                    rule, f"{request.service}:{request.operation}", response.status, code, message
                )
            )
        return response

    # --- what the rules look up in moto -------------------------------------------------------
    def client(self, service: str, region: str) -> Any:
        """A boto3 client straight to moto (not through the proxy; not counted)."""
        import boto3
        from botocore.config import Config

        with self._lock:
            made = self._clients.get((service, region))
            if made is None:
                session = boto3.session.Session(
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                    region_name=region,
                )
                # The stubs type client() per literal service name; this one is a variable.
                made = cast(Any, session).client(
                    service,
                    endpoint_url=self.upstream_url,
                    config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
                )
                self._clients[(service, region)] = made
            return made

    def bucket_region(self, bucket: str) -> str | None:
        """The bucket's region (moto's GetBucketLocation, cached); None if there is no bucket."""
        with self._lock:
            known = self._bucket_regions.get(bucket)
        if known is not None:
            return known
        from botocore.exceptions import ClientError

        try:
            answer = self.client("s3", "us-east-1").get_bucket_location(Bucket=bucket)
        except ClientError:
            return None
        region = answer.get("LocationConstraint") or "us-east-1"
        with self._lock:
            self._bucket_regions[bucket] = region
        return str(region)

    def forget_bucket(self, bucket: str) -> None:
        with self._lock:
            self._bucket_regions.pop(bucket, None)

    def key_lock(self, bucket: str, key: str) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault((bucket, key), threading.Lock())

    def note_error(self, request: Request, exc: Exception) -> None:
        import traceback

        detail = "".join(traceback.format_exception(exc)[-3:])
        with self._lock:
            self.errors.append(f"{request.service}:{request.operation or request.method}: {detail}")

    def note_replay(self, request: Request, differs: bool) -> None:
        with self._lock:
            self.replays.append((f"{request.service}:{request.operation}", differs))

    def keep_fields(self, region: str, arn: str, fields: dict[str, Any]) -> None:
        with self._lock:
            self._kept.setdefault((region, arn), {}).update(fields)

    def kept_fields(self, region: str, arn: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._kept.get((region, arn), {}))

    def keep_search(self, results: list[Any]) -> str:
        """Keep a search's whole answer; the id its page tokens name."""
        with self._lock:
            search = f"search-{len(self._searches) + 1}"
            self._searches[search] = results
            return search

    @staticmethod
    def search_token(token: str, offset: int) -> str:
        return f"{token.split(':', 1)[0]}:{offset}"

    def kept_search(self, token: str) -> tuple[list[Any], int] | None:
        """The kept answer and the offset a page token names; None for a token never given."""
        search, _, offset = token.partition(":")
        with self._lock:
            results = self._searches.get(search)
        if results is None or not offset.isdigit():
            return None
        return results, int(offset)

    def mark_deleted(self, region: str, arn: str) -> None:
        with self._lock:
            self._deleted.add((region, arn))

    def is_deleted(self, region: str, arn: str) -> bool:
        with self._lock:
            return (region, arn) in self._deleted

    def remembered_token(self, region: str, token: str) -> tuple[str, Response] | None:
        with self._lock:
            return self._client_tokens.get((region, token))

    def remember_token(self, region: str, token: str, digest: str, response: Response) -> None:
        with self._lock:
            self._client_tokens.setdefault((region, token), (digest, response))


@contextmanager
def strict_aws_proxy(upstream: str, enabled: set[str] | None = None) -> Iterator[StrictAwsServer]:
    """A strict proxy serving from a thread of this process until the block ends."""
    server = StrictAwsServer(upstream, enabled)
    thread = threading.Thread(target=server.serve_forever, name="strict-aws", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
