"""The SageMaker rules of the strict proxy (ids and sources: ``tests/support/aws_rules.py``).

Order as AWS's: the front end validates the request against the model first (one
``ValidationException`` listing every violation), then the service judges what it means (tags on
a version, regions of the artifacts, an existing group), then idempotency and state.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.support.aws_rules import (
    coral_message,
    kms_arn_region,
    parse_s3_url,
    s3_urls,
    validate_request,
)
from tests.support.wire import JSON_CONTENT_TYPE, Request, Response, sagemaker_error

if TYPE_CHECKING:
    from tests.support.strict_aws import StrictAwsServer

__all__ = ["VERSION_TAGS_MESSAGE", "handle", "shape_rule"]

Forward = Callable[..., Response]
VERSION_TAGS_MESSAGE = (
    "Tags are not supported in Model Package versions. Please add them to the Model Package Group"
)
# Fields of CreateModelPackage that moto drops and DescribeModelPackage returns on AWS.
KEPT_FIELDS = ("SecurityConfig", "SkipModelValidation", "SourceUri", "ModelCard")
# Which rule a violated shape belongs to; every other shape: sm-model-constraints.
_SHAPE_RULES = {
    "TransformInstanceType": "sm-transform-instance-types",
    "TransformInstanceTypes": "sm-transform-instance-types",
    "ProductionVariantInstanceType": "sm-realtime-instance-types",
    "RealtimeInferenceInstanceTypes": "sm-realtime-instance-types",
    "CustomerMetadataMap": "sm-customer-metadata",
    "CustomerMetadataKey": "sm-customer-metadata",
    "CustomerMetadataValue": "sm-customer-metadata",
    "CustomerMetadataKeyList": "sm-customer-metadata",
    "EntityDescription": "sm-description",
    "ApprovalDescription": "sm-description",
    "EntityName": "sm-entity-name",
    "TagList": "sm-tags",
    "TagKey": "sm-tags",
    "TagValue": "sm-tags",
}


def shape_rule(shape: str) -> str:
    return _SHAPE_RULES.get(shape, "sm-model-constraints")


def _validation(server: StrictAwsServer, request: Request, rule: str, message: str) -> Response:
    return server.refuse(
        rule, request, sagemaker_error(400, "ValidationException", message), message
    )


def handle(server: StrictAwsServer, request: Request, forward: Forward) -> Response:
    try:
        body = json.loads(request.payload or b"{}")
    except ValueError:
        return forward(request)
    if not isinstance(body, dict):
        return forward(request)
    refused = _model_constraints(server, request, body) or _service_rules(server, request, body)
    if refused is not None:
        return refused
    operation = request.operation
    if "sm-delete-model-package" in server.enabled:
        answered = _deleted_packages(server, request, body, forward)
        if answered is not None:
            return answered
    if operation == "CreateModelPackage":
        return _create_model_package(server, request, body, forward)
    if operation == "UpdateModelPackage" and "sm-update-keeps-fields" in server.enabled:
        return _update_model_package(server, request, body, forward)
    if operation == "DescribeModelPackage" and "sm-kept-fields" in server.enabled:
        return _with_kept_fields(server, request, forward(request))
    if operation == "Search" and "sm-search-pages" in server.enabled:
        return _search_page(server, request, body, forward)
    return forward(request)


SEARCH_DEFAULT_RESULTS = 10  # undocumented; what the SageMaker console's searches get


def _search_page(
    server: StrictAwsServer, request: Request, body: dict[str, Any], forward: Forward
) -> Response:
    """One page of a search, as AWS pages it (moto answers every match at once)."""
    size = int(body.get("MaxResults") or SEARCH_DEFAULT_RESULTS)
    token = body.get("NextToken")
    if token is None:
        query = {k: v for k, v in body.items() if k not in ("MaxResults", "NextToken")}
        response = forward(request, json.dumps(query).encode())
        if response.status != 200:
            return response
        results = list(json.loads(response.body).get("Results") or [])
        token, offset = server.keep_search(results), 0
    else:
        kept = server.kept_search(str(token))
        if kept is None:
            message = "The NextToken is invalid or has expired"  # wording unconfirmed
            return _validation(server, request, "sm-search-pages", message)
        results, offset = kept
    page: dict[str, Any] = {"Results": results[offset : offset + size]}
    if offset + size < len(results):
        page["NextToken"] = server.search_token(str(token), offset + size)
    headers = [("Content-Type", JSON_CONTENT_TYPE), ("x-amzn-RequestId", str(uuid.uuid4()))]
    return Response(200, "OK", headers, json.dumps(page, default=str).encode())


def _model_constraints(
    server: StrictAwsServer, request: Request, body: dict[str, Any]
) -> Response | None:
    """Coral's validation: every violated constraint of an enabled rule, in one message."""
    violations = [
        v
        for v in validate_request(request.operation, body)
        if shape_rule(v.shape) in server.enabled
    ]
    if not violations:
        return None
    message = coral_message(violations)
    return _validation(server, request, shape_rule(violations[0].shape), message)


def _service_rules(
    server: StrictAwsServer, request: Request, body: dict[str, Any]
) -> Response | None:
    enabled, operation = server.enabled, request.operation
    tags = body.get("Tags")
    if "sm-tags" in enabled and isinstance(tags, list):
        reserved = [t.get("Key") for t in tags if str(t.get("Key", "")).lower().startswith("aws:")]
        if reserved:
            # Wording unconfirmed: AWS reserves the prefix; the exact message is not public.
            message = f"Tag keys starting with 'aws:' are reserved for AWS use: {reserved}"
            return _validation(server, request, "sm-tags", message)
    versioned = operation == "CreateModelPackage" and bool(body.get("ModelPackageGroupName"))
    if "sm-version-tags" in enabled and versioned and "Tags" in body:
        return _validation(server, request, "sm-version-tags", VERSION_TAGS_MESSAGE)
    if operation == "CreateModelPackage":
        refused = _artifact_regions(server, request, body) or _kms_region(server, request, body)
        if refused is not None:
            return refused
    if operation == "CreateModelPackageGroup" and "sm-group-exists" in enabled:
        return _group_exists(server, request, body)
    return None


def _artifact_regions(
    server: StrictAwsServer, request: Request, body: dict[str, Any]
) -> Response | None:
    if "sm-artifact-region" not in server.enabled:
        return None
    for path, url in s3_urls(body):
        bucket = parse_s3_url(url)
        region = server.bucket_region(bucket) if bucket else None
        if region is not None and region != request.region:
            # Wording ours: AWS's documented rule, its exact message unconfirmed.
            message = (
                f"{path} {url} is in S3 bucket '{bucket}' in region {region}; the model "
                f"package is created in {request.region}. The model artifacts must be in an S3 "
                "bucket that is in the same region as the model package."
            )
            return _validation(server, request, "sm-artifact-region", message)
    return None


def _kms_region(server: StrictAwsServer, request: Request, body: dict[str, Any]) -> Response | None:
    key = str((body.get("SecurityConfig") or {}).get("KmsKeyId") or "")
    region = kms_arn_region(key)
    if "sm-kms-region" in server.enabled and region is not None and region != request.region:
        message = (
            f"SecurityConfig.KmsKeyId {key} is a KMS key in {region}; the model package is "
            f"created in {request.region} and KMS keys are regional: use the key (or the "
            "multi-Region key's replica) in this region."
        )
        return _validation(server, request, "sm-kms-region", message)
    return None


def _group_exists(
    server: StrictAwsServer, request: Request, body: dict[str, Any]
) -> Response | None:
    from botocore.exceptions import ClientError

    sagemaker = server.client("sagemaker", request.region)
    try:
        group = sagemaker.describe_model_package_group(
            ModelPackageGroupName=str(body.get("ModelPackageGroupName"))
        )
    except ClientError:
        return None
    message = f"Model Package Group already exists: {group['ModelPackageGroupArn']}"
    return _validation(server, request, "sm-group-exists", message)


def _create_model_package(
    server: StrictAwsServer, request: Request, body: dict[str, Any], forward: Forward
) -> Response:
    """ClientToken honoured (the first answer replayed); PendingManualApproval by default."""
    rewritten = None
    versioned = bool(body.get("ModelPackageGroupName"))
    if (
        "sm-default-approval" in server.enabled
        and versioned
        and not body.get("ModelApprovalStatus")
    ):
        rewritten = json.dumps({**body, "ModelApprovalStatus": "PendingManualApproval"}).encode()
    token = body.get("ClientToken")
    if "sm-client-token" not in server.enabled or not token:
        return _keep_fields(server, request, body, forward(request, rewritten))
    unkeyed = {k: v for k, v in body.items() if k != "ClientToken"}
    digest = hashlib.sha256(json.dumps(unkeyed, sort_keys=True).encode()).hexdigest()
    # One create per token at a time, as AWS dedupes concurrent retries too.
    with server.key_lock(f"sagemaker-client-token:{request.region}", str(token)):
        remembered = server.remembered_token(request.region, str(token))
        if remembered is not None:
            # A different body under a reused token: AWS's answer is unconfirmed (the model
            # has no IdempotentParameterMismatch for SageMaker); the first package is returned.
            server.note_replay(request, remembered[0] != digest)
            return copy.deepcopy(remembered[1])
        response = _keep_fields(server, request, body, forward(request, rewritten))
        if response.status == 200:
            server.remember_token(request.region, str(token), digest, response)
        return response


def _keep_fields(
    server: StrictAwsServer, request: Request, body: dict[str, Any], response: Response
) -> Response:
    """Remember what moto drops of a created package, to return it as AWS does."""
    kept = {name: body[name] for name in KEPT_FIELDS if name in body}
    if response.status == 200 and kept:
        arn = str(json.loads(response.body)["ModelPackageArn"])
        server.keep_fields(request.region, arn, kept)
    return response


def _with_kept_fields(server: StrictAwsServer, request: Request, response: Response) -> Response:
    if response.status != 200:
        return response
    package = json.loads(response.body)
    kept = server.kept_fields(request.region, str(package.get("ModelPackageArn")))
    missing = {name: value for name, value in kept.items() if name not in package}
    if not missing:
        return response
    body = json.dumps({**package, **missing}).encode()
    headers = [(k, v) for k, v in response.headers if k.lower() != "content-length"]
    return Response(response.status, response.reason, headers, body)


def _update_model_package(
    server: StrictAwsServer, request: Request, body: dict[str, Any], forward: Forward
) -> Response:
    """Complete the update from the package as it is, so moto keeps what AWS keeps."""
    from botocore.exceptions import ClientError

    sagemaker = server.client("sagemaker", request.region)
    try:
        current = sagemaker.describe_model_package(ModelPackageName=body.get("ModelPackageArn"))
    except ClientError:
        return forward(request)  # moto gives its own answer for a missing package
    complete = dict(body)
    for name in ("ModelApprovalStatus", "ApprovalDescription"):
        if name not in complete and current.get(name) is not None:
            complete[name] = current[name]
    metadata = {
        **(current.get("CustomerMetadataProperties") or {}),
        **(body.get("CustomerMetadataProperties") or {}),
    }
    for removed in body.get("CustomerMetadataPropertiesToRemove") or []:
        metadata.pop(removed, None)
    complete["CustomerMetadataProperties"] = metadata
    complete.pop("CustomerMetadataPropertiesToRemove", None)  # applied above
    return forward(request, json.dumps(complete).encode())


def _package_gone(arn: str) -> Response:
    # Wording unconfirmed: AWS's answer for a package that does not exist (or no longer does).
    return sagemaker_error(400, "ValidationException", f"ModelPackage {arn} does not exist.")


def _deleted_packages(
    server: StrictAwsServer, request: Request, body: dict[str, Any], forward: Forward
) -> Response | None:
    """DeleteModelPackage, which moto lacks: the package is forgotten here (moto keeps it, so
    its number is not given again, as on AWS) and hidden from every later answer."""
    from botocore.exceptions import ClientError

    operation = request.operation
    if operation == "DeleteModelPackage":
        name = str(body.get("ModelPackageName") or "")
        try:
            package = server.client("sagemaker", request.region).describe_model_package(
                ModelPackageName=name
            )
        except ClientError:
            return _package_gone(name)
        arn = str(package["ModelPackageArn"])
        if server.is_deleted(request.region, arn):
            return _package_gone(name)
        server.mark_deleted(request.region, arn)
        return Response(200, "OK", [("Content-Type", JSON_CONTENT_TYPE)], b"{}")
    if operation in ("DescribeModelPackage", "UpdateModelPackage"):
        name = str(body.get("ModelPackageName") or body.get("ModelPackageArn") or "")
        if server.is_deleted(request.region, name):
            return _package_gone(name)
        return None
    if operation == "ListModelPackages":
        response = forward(request)
        if response.status != 200:
            return response
        listed = json.loads(response.body)
        summaries = listed.get("ModelPackageSummaryList") or []
        kept = [s for s in summaries if not server.is_deleted(request.region, s["ModelPackageArn"])]
        if len(kept) == len(summaries):
            return response
        body_out = json.dumps({**listed, "ModelPackageSummaryList": kept}).encode()
        headers = [(k, v) for k, v in response.headers if k.lower() != "content-length"]
        return Response(response.status, response.reason, headers, body_out)
    return None
