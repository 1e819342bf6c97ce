"""The wire side of the strict proxy: requests and answers read whole, AWS's error formats.

S3 errors are XML ``<Error><Code>..</Code><Message>..</Message>..</Error>`` (no body after a HEAD);
SageMaker errors are JSON 1.1 ``{"__type": code, "message": ...}``: what botocore parses.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import uuid
from dataclasses import dataclass, field

__all__ = [
    "JSON_CONTENT_TYPE",
    "Refusal",
    "Request",
    "Response",
    "classify_s3",
    "decode_aws_chunked",
    "decode_http_chunked",
    "s3_error",
    "sagemaker_error",
    "sha256_base64",
]

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
_S3_SUBRESOURCES = {
    "tagging": "Tagging",
    "acl": "Acl",
    "location": "Location",
    "versioning": "Versioning",
    "encryption": "Encryption",
    "policy": "Policy",
    "lifecycle": "LifecycleConfiguration",
    "cors": "Cors",
    "versions": "Versions",
    "attributes": "Attributes",
}


@dataclass(frozen=True)
class Refusal:
    rule: str
    operation: str  # 'sagemaker:CreateModelPackage', 's3:PutObject'
    status: int
    code: str
    message: str


@dataclass
class Request:
    """A client's request, read whole: the head as sent, the body as framed and as payload."""

    method: str
    target: str  # path and query as sent
    headers: list[tuple[str, str]]
    raw_body: bytes  # as framed on the wire (HTTP chunked included)
    payload: bytes  # the body without HTTP chunked framing
    region: str
    service: str
    operation: str = ""
    bucket: str | None = None
    key: str | None = None
    query: dict[str, list[str]] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def without_headers(self, *names: str) -> list[tuple[str, str]]:
        drop = {n.lower() for n in names}
        return [(k, v) for k, v in self.headers if k.lower() not in drop]


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


def sagemaker_error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"__type": code, "message": message}).encode()
    headers = [("Content-Type", JSON_CONTENT_TYPE), ("x-amzn-RequestId", str(uuid.uuid4()))]
    return Response(status, http.client.responses.get(status, ""), headers, body)


def s3_error(
    status: int,
    code: str,
    message: str,
    extra: dict[str, str] | None = None,
    headers: list[tuple[str, str]] | None = None,
    head: bool = False,
) -> Response:
    """An S3 error answer; after a HEAD, AWS sends none of the XML body."""
    from xml.sax.saxutils import escape

    elements = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in (extra or {}).items())
    request_id = uuid.uuid4().hex[:16].upper()
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{elements}"
        f"<RequestId>{request_id}</RequestId><HostId>strict-aws</HostId></Error>"
    )
    all_headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    all_headers += headers or []
    return Response(
        status, http.client.responses.get(status, ""), all_headers, b"" if head else xml.encode()
    )


# --- request parsing --------------------------------------------------------------------------


def decode_http_chunked(raw: bytes) -> bytes:
    """The payload of an HTTP ``Transfer-Encoding: chunked`` body (trailers dropped)."""
    out = bytearray()
    position = 0
    while True:
        end = raw.index(b"\r\n", position)
        size = int(raw[position:end].split(b";", 1)[0], 16)
        if size == 0:
            return bytes(out)
        out += raw[end + 2 : end + 2 + size]
        position = end + 2 + size + 2


def decode_aws_chunked(body: bytes) -> tuple[bytes, dict[str, str]]:
    """(data, trailers) of an ``aws-chunked`` body: ``size[;chunk-signature=..]\\r\\n`` data
    ``\\r\\n`` ... ``0\\r\\n`` then ``name:value\\r\\n`` trailers and a blank line."""
    data = bytearray()
    position = 0
    while True:
        end = body.index(b"\r\n", position)
        size = int(body[position:end].split(b";", 1)[0], 16)
        position = end + 2
        if size == 0:
            break
        data += body[position : position + size]
        position += size + 2
    trailers: dict[str, str] = {}
    for line in body[position:].split(b"\r\n"):
        name, colon, value = line.decode("latin-1").partition(":")
        if colon:
            trailers[name.strip().lower()] = value.strip()
    return bytes(data), trailers


def classify_s3(request: Request) -> str:
    """The S3 operation of a path-style request (method, bucket, key, query)."""
    method, query = request.method, request.query
    sub = next((_S3_SUBRESOURCES[q] for q in query if q in _S3_SUBRESOURCES), None)
    if request.bucket is None:
        return "ListBuckets"
    if request.key is None:
        if sub is not None:
            return {"GET": "GetBucket", "PUT": "PutBucket", "DELETE": "DeleteBucket"}.get(
                method, method
            ) + sub
        table = {"HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}
        if method == "GET":
            if "uploads" in query:
                return "ListMultipartUploads"
            return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
        if method == "POST" and "delete" in query:
            return "DeleteObjects"
        return table.get(method, f"{method}Bucket")
    if sub is not None:
        return {"GET": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(
            method, method
        ) + sub
    copy = request.header("x-amz-copy-source") is not None
    if method == "PUT":
        if "partNumber" in query:
            return "UploadPartCopy" if copy else "UploadPart"
        return "CopyObject" if copy else "PutObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        return "CompleteMultipartUpload" if "uploadId" in query else "PostObject"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    if method == "GET":
        return "ListParts" if "uploadId" in query else "GetObject"
    return "HeadObject" if method == "HEAD" else f"{method}Object"


def sha256_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()
