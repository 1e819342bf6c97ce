"""Request members that a client's bundled service model is too old to know, sent all the same.

botocore validates every parameter against the service model it ships, so a member that AWS
accepts but that model lacks fails before any request (``Unknown parameter in input``). The
processing job runs on the boto3 its image pins (scikit-learn ``1.2-1``: boto3 1.28.57 / botocore
1.31.57), which lacks members mimsreg sends:

- S3 conditional writes, ``IfNoneMatch`` / ``IfMatch`` on ``PutObject`` (and ``IfMatch`` on
  ``DeleteObject``, ``IfNoneMatch``/``IfMatch`` on ``CompleteMultipartUpload``): sent as the
  ``If-None-Match`` / ``If-Match`` headers they are on the wire;
- ``SecurityConfig`` on SageMaker ``CreateModelPackage`` (and any other JSON member the newest
  model has): put into the serialized JSON body exactly as a newer botocore writes it;
- nested members, ``ModelDataSource`` in ``CreateModelPackage``'s
  ``InferenceSpecification.Containers`` (a model folder registered uncompressed; botocore
  1.31.57's ``ModelPackageContainerDefinition`` lacks it): the whole top-level member that holds
  it goes into the JSON body the same way (:data:`NESTED_MEMBERS`).

:func:`adapt_client` feature-detects from ``client.meta.service_model`` (never from version
strings) and, only for members that model lacks, registers two botocore event handlers: one
takes the member out of the parameters before validation (``before-parameter-build``) and keeps it
in the request's context, the other writes it into the request (``before-call``). A client whose
model has the member is left alone: it sends the parameter itself. AWS answers both the same way,
so a refused condition is a ``ClientError`` with code ``PreconditionFailed`` (412) or
``ConditionalRequestConflict`` (409) on every version.

Portable (runs in the processing job on Python 3.9): stdlib and botocore only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "HEADER_MEMBERS",
    "JSON_MEMBERS",
    "NESTED_MEMBERS",
    "REQUIRED_MEMBERS",
    "adapt_client",
    "missing_members",
    "unsupported_members",
]

# S3: (operation, member) -> the HTTP header the member is sent as (the newest service model's
# locationName for it).
HEADER_MEMBERS: Mapping[tuple[str, str], str] = {
    ("PutObject", "IfNoneMatch"): "If-None-Match",
    ("PutObject", "IfMatch"): "If-Match",
    ("DeleteObject", "IfMatch"): "If-Match",
    ("CompleteMultipartUpload", "IfNoneMatch"): "If-None-Match",
    ("CompleteMultipartUpload", "IfMatch"): "If-Match",
}

# SageMaker (JSON protocol): operation -> top-level members mimsreg may send that older models lack.
# Their values are plain JSON (strings, numbers, objects, lists), serialized as they are.
JSON_MEMBERS: Mapping[str, tuple[str, ...]] = {
    "CreateModelPackage": ("SecurityConfig",),
}

# SageMaker (JSON protocol): operation -> (top-level member, shape, nested member). When the
# client's model lacks the nested member in that shape, the top-level member holding it is sent
# in the body, whole (its values are plain JSON).
NESTED_MEMBERS: Mapping[str, tuple[tuple[str, str, str], ...]] = {
    "CreateModelPackage": (
        ("InferenceSpecification", "ModelPackageContainerDefinition", "ModelDataSource"),
    ),
}

# Members the registration sends that have no other way out (checksums computed by botocore and
# s3transfer, nested request shapes): a model that lacks one cannot register. (service, operation)
# -> members; all present since botocore 1.31.49 (SkipModelValidation is the newest of them).
REQUIRED_MEMBERS: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("s3", "PutObject"): ("ChecksumAlgorithm", "ChecksumSHA256"),
    ("s3", "CreateMultipartUpload"): ("ChecksumAlgorithm",),
    ("s3", "UploadPart"): ("ChecksumAlgorithm",),
    ("s3", "HeadObject"): ("ChecksumMode",),
    ("s3", "CopyObject"): ("ChecksumAlgorithm",),
    ("sagemaker", "CreateModelPackage"): (
        "CustomerMetadataProperties",
        "SamplePayloadUrl",
        "ModelApprovalStatus",
        "MetadataProperties",
        "Domain",
        "ClientToken",
    ),
    ("sagemaker", "UpdateModelPackage"): ("CustomerMetadataProperties",),
}

_CONTEXT_KEY = "mimsreg_compat_members"
_HANDLER_PREFIX = "mimsreg-compat"


def missing_members(client: Any, operation: str, members: tuple[str, ...]) -> tuple[str, ...]:
    """Which of ``members`` the client's service model does not have for ``operation``."""
    model = client.meta.service_model
    if operation not in model.operation_names:
        return ()
    shape = model.operation_model(operation).input_shape
    known = set(shape.members) if shape is not None else set()
    return tuple(member for member in members if member not in known)


def unsupported_members(session: Any = None) -> list[str]:
    """``Operation.Member`` of every :data:`REQUIRED_MEMBERS` entry the installed botocore's
    service models lack, read without credentials or a client (``session``: a botocore session)."""
    import botocore.session

    session = session if session is not None else botocore.session.get_session()
    lacking = []
    for (service, operation), members in REQUIRED_MEMBERS.items():
        model = session.get_service_model(service)
        shape = model.operation_model(operation).input_shape
        lacking += [f"{operation}.{name}" for name in members if name not in shape.members]
    return lacking


def _nested_missing(client: Any, operation: str) -> tuple[str, ...]:
    """The top-level members of ``operation`` to send in the body for their nested members."""
    model = client.meta.service_model
    tops = []
    for top, shape, member in NESTED_MEMBERS.get(operation, ()):
        if operation in model.operation_names and member not in model.shape_for(shape).members:
            tops.append(top)
    return tuple(tops)


def _header_missing(client: Any) -> dict[str, dict[str, str]]:
    """operation -> {member: header} for the header members this client lacks."""
    missing: dict[str, dict[str, str]] = {}
    for (operation, member), header in HEADER_MEMBERS.items():
        if missing_members(client, operation, (member,)):
            missing.setdefault(operation, {})[member] = header
    return missing


def _take_members(members: tuple[str, ...]) -> Any:
    def take(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        taken = {name: params.pop(name) for name in members if name in params}
        if taken:
            context[_CONTEXT_KEY] = taken

    return take


def _write_headers(headers_of: Mapping[str, str]) -> Any:
    def write(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        for member, value in (context.get(_CONTEXT_KEY) or {}).items():
            params["headers"][headers_of[member]] = str(value)

    return write


def _write_json(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    taken = context.get(_CONTEXT_KEY)
    if not taken:
        return
    body = params.get("body") or b"{}"
    document = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
    document.update(taken)
    params["body"] = json.dumps(document, separators=(",", ":")).encode("utf-8")


def adapt_client(client: Any) -> Any:
    """Let ``client`` send the members of :data:`HEADER_MEMBERS` / :data:`JSON_MEMBERS` that its
    service model lacks; returns the client. Idempotent."""
    events = client.meta.events
    service = client.meta.service_model
    service_id = service.service_id.hyphenize()
    if service.protocol == "rest-xml":
        for operation, headers_of in _header_missing(client).items():
            members = tuple(headers_of)
            suffix = f"{service_id}.{operation}"
            events.register(
                f"before-parameter-build.{suffix}",
                _take_members(members),
                unique_id=f"{_HANDLER_PREFIX}-take-{suffix}",
            )
            events.register(
                f"before-call.{suffix}",
                _write_headers(headers_of),
                unique_id=f"{_HANDLER_PREFIX}-write-{suffix}",
            )
    elif service.protocol == "json":
        for operation in dict.fromkeys([*JSON_MEMBERS, *NESTED_MEMBERS]):
            wanted = JSON_MEMBERS.get(operation, ())
            members = missing_members(client, operation, wanted) + _nested_missing(
                client, operation
            )
            if not members:
                continue
            suffix = f"{service_id}.{operation}"
            events.register(
                f"before-parameter-build.{suffix}",
                _take_members(members),
                unique_id=f"{_HANDLER_PREFIX}-take-{suffix}",
            )
            events.register(
                f"before-call.{suffix}", _write_json, unique_id=f"{_HANDLER_PREFIX}-write-{suffix}"
            )
    return client
