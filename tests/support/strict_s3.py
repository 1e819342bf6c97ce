"""The S3 rules of the strict proxy (ids and sources: ``tests/support/aws_rules.py``).

Requests are path style (``/bucket/key``: botocore uses path style for an IP endpoint). The
region of a request is its SigV4 scope's; a bucket's is moto's ``GetBucketLocation``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from tests.support.aws_rules import kms_arn_region
from tests.support.wire import Request, Response, decode_aws_chunked, s3_error, sha256_base64

if TYPE_CHECKING:
    from tests.support.strict_aws import StrictAwsServer

__all__ = ["handle"]

Forward = Callable[..., Response]
# Writes that replace or remove the object at the request's key: serialized per key.
_KEY_WRITES = ("PutObject", "CompleteMultipartUpload", "CopyObject", "DeleteObject")
_SSE_WRITES = ("PutObject", "CreateMultipartUpload", "CopyObject")
_CHECKSUMMED = ("PutObject", "UploadPart")
_CONDITION_HEADERS = ("If-Match", "If-None-Match")


def handle(server: StrictAwsServer, request: Request, forward: Forward) -> Response:
    operation, bucket = request.operation, request.bucket
    bucket_region = None
    # GetBucketLocation answers from any region: it is how a client finds the bucket's.
    if bucket is not None and operation not in ("CreateBucket", "GetBucketLocation"):
        bucket_region = server.bucket_region(bucket)
        if (
            "s3-bucket-region" in server.enabled
            and bucket_region is not None
            and bucket_region != request.region
        ):
            return _wrong_region(server, request, bucket, bucket_region)
    refused = _kms_region(server, request, bucket_region) or _checksum(server, request)
    if refused is not None:
        return refused
    if operation in _KEY_WRITES and bucket is not None and request.key is not None:
        with server.key_lock(bucket, request.key):
            return _conditional_write(server, request, bucket_region or request.region, forward)
    response = forward(request)
    if operation == "DeleteBucket" and bucket is not None:
        server.forget_bucket(bucket)
    if operation in ("HeadObject", "GetObject") and "s3-composite-checksum" in server.enabled:
        return _composite_checksum(response)
    return response


def _composite_checksum(response: Response) -> Response:
    """AWS gives the checksum of an object written in parts as ``<checksum of checksums>-<parts>``;
    moto leaves ``-<parts>`` out. Its multipart ETag ends with the same ``-<parts>``."""
    checksum = response.header("x-amz-checksum-sha256")
    _, dash, parts = _unquoted(response.header("ETag")).rpartition("-")
    if not checksum or "-" in checksum or not dash or not parts.isdigit():
        return response
    headers = [
        (name, f"{value}-{parts}" if name.lower() == "x-amz-checksum-sha256" else value)
        for name, value in response.headers
    ]
    return replace(response, headers=headers)


def _wrong_region(server: StrictAwsServer, request: Request, bucket: str, region: str) -> Response:
    """What S3 answers a request signed for the wrong region: the global endpoint (us-east-1)
    reaches the bucket and refuses the signature; a regional endpoint redirects."""
    head = request.method == "HEAD"
    headers = [("x-amz-bucket-region", region)]
    if request.region == "us-east-1":
        message = (
            f"The authorization header is malformed; the region '{request.region}' is wrong; "
            f"expecting '{region}'"
        )
        answer = s3_error(
            400, "AuthorizationHeaderMalformed", message, {"Region": region}, headers, head
        )
    else:
        message = (
            "The bucket you are attempting to access must be addressed using the specified "
            "endpoint. Please send all future requests to this endpoint."
        )
        extra = {"Endpoint": f"{bucket}.s3.{region}.amazonaws.com", "Bucket": bucket}
        answer = s3_error(301, "PermanentRedirect", message, extra, headers, head)
    note = f"{request.operation} on s3://{bucket} (in {region}) signed for {request.region}"
    return server.refuse("s3-bucket-region", request, answer, note)


def _kms_region(
    server: StrictAwsServer, request: Request, bucket_region: str | None
) -> Response | None:
    key = request.header("x-amz-server-side-encryption-aws-kms-key-id")
    if "s3-kms-region" not in server.enabled or request.operation not in _SSE_WRITES or not key:
        return None
    key_region = kms_arn_region(key)
    # S3 calls KMS in the bucket's region: a key ARN of any other region is not found there.
    region = bucket_region or request.region
    if key_region is None or key_region == region:
        return None
    message = f"Invalid arn {region}"
    answer = s3_error(400, "KMS.NotFoundException", message)
    return server.refuse("s3-kms-region", request, answer, f"{message} (key {key})")


def _checksum(server: StrictAwsServer, request: Request) -> Response | None:
    if "s3-checksum-sha256" not in server.enabled or request.operation not in _CHECKSUMMED:
        return None
    data, claimed = request.payload, request.header("x-amz-checksum-sha256")
    encoding = (request.header("content-encoding") or "").lower()
    content_sha = request.header("x-amz-content-sha256") or ""
    if "aws-chunked" in encoding or content_sha.startswith("STREAMING-"):
        data, trailers = decode_aws_chunked(request.payload)
        claimed = claimed or trailers.get("x-amz-checksum-sha256")
    if claimed is None or claimed == sha256_base64(data):
        return None
    message = "The SHA256 you specified did not match the calculated checksum."
    answer = s3_error(400, "BadDigest", message)
    return server.refuse("s3-checksum-sha256", request, answer, f"{message} ({claimed})")


def _current_etag(server: StrictAwsServer, request: Request, region: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        head = server.client("s3", region).head_object(Bucket=request.bucket, Key=request.key)
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return None
        raise
    return str(head["ETag"])


def _conditional_write(
    server: StrictAwsServer, request: Request, region: str, forward: Forward
) -> Response:
    """Judge If-None-Match / If-Match and write, under the key's lock: one winner, exactly."""
    if_none_match, if_match = request.header("If-None-Match"), request.header("If-Match")
    if "s3-conditional-write" not in server.enabled or (if_none_match is None and if_match is None):
        return forward(request)
    etag = _current_etag(server, request, region)
    refused = None
    if if_none_match is not None and if_none_match.strip() == "*" and etag is not None:
        refused = _precondition_failed("If-None-Match")
    elif if_match is not None and etag is None:
        answer = s3_error(
            404, "NoSuchKey", "The specified key does not exist.", {"Key": str(request.key)}
        )
        refused = answer
    elif (
        if_match is not None and if_match.strip() != "*" and _unquoted(if_match) != _unquoted(etag)
    ):
        refused = _precondition_failed("If-Match")
    if refused is not None:
        note = f"{request.operation} s3://{request.bucket}/{request.key}: current ETag {etag}"
        return server.refuse("s3-conditional-write", request, refused, note)
    # Judged here, atomically; moto's own checks (not atomic, not all implemented) are skipped.
    return forward(replace(request, headers=request.without_headers(*_CONDITION_HEADERS)))


def _precondition_failed(condition: str) -> Response:
    message = "At least one of the pre-conditions you specified did not hold"
    return s3_error(412, "PreconditionFailed", message, {"Condition": condition})


def _unquoted(etag: str | None) -> str:
    return (etag or "").strip().strip('"')
