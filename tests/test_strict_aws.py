"""The strict AWS layer (tests/support): each rule refuses as AWS does and lets through what AWS
accepts, with plain boto3 clients through the proxy in front of the session's moto server."""

from __future__ import annotations

import base64
import functools
import hashlib
import http.client
import json
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from tests.support.aws_rules import RULES, java_pattern, sagemaker_model
from tests.support.strict_aws import StrictAwsServer
from tests.support.strict_sagemaker import VERSION_TAGS_MESSAGE
from tests.support.wire import decode_aws_chunked

US, EU = "us-east-1", "eu-west-1"
BUCKET = "mimsreg-test-{region}"
GROUP = "FraudDetection"
IMAGE = "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:1.7-1"
# The fixtures strict_aws, strict_aws_server and python39_old_boto3.
DOCS = Path(__file__).resolve().parent.parent / "docs" / "aws-fidelity.md"


def sagemaker(region: str = US) -> Any:
    return boto3.client("sagemaker", region_name=region)


def s3(region: str = US) -> Any:
    return boto3.client("s3", region_name=region)


def version_request(region: str = US, **changes: Any) -> dict[str, Any]:
    """A CreateModelPackage request AWS accepts (a version of GROUP), with ``changes``."""
    request: dict[str, Any] = {
        "ModelPackageGroupName": GROUP,
        "ModelPackageDescription": "FraudDetection model of my-team-id, registered by mimsreg",
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": IMAGE.format(region=region),
                    "ModelDataUrl": f"s3://{BUCKET.format(region=region)}/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
            "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large"],
            "SupportedTransformInstanceTypes": ["ml.m5.large"],
        },
        "ModelApprovalStatus": "PendingManualApproval",
        "CustomerMetadataProperties": {"mimsreg:owner": "my-team-id"},
    }
    request.update(changes)
    return request


def make_group(region: str = US, **kwargs: Any) -> None:
    sagemaker(region).create_model_package_group(ModelPackageGroupName=GROUP, **kwargs)


def refusal(call: Callable[[], object]) -> tuple[int, str, str]:
    """(HTTP status, error code, message) of a call that must fail."""
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"].get("Message", ""),
    )


def validation_message(path: str, value: str, constraint: str) -> str:
    return (
        f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy "
        f"constraint: {constraint}"
    )


# --- SageMaker ---------------------------------------------------------------------------------


def test_version_tags_refused(strict_aws: StrictAwsServer) -> None:
    """A version carrying Tags (even []) is refused as AWS does; the group carries tags; with the
    rule off, moto takes it (what the strict layer exists for)."""
    make_group(Tags=[{"Key": "team", "Value": "fraud"}])
    for tags in ([], [{"Key": "team", "Value": "fraud"}]):
        status, code, message = refusal(
            functools.partial(sagemaker().create_model_package, **version_request(Tags=tags))
        )
        assert (status, code, message) == (400, "ValidationException", VERSION_TAGS_MESSAGE)
    assert sagemaker().create_model_package(**version_request())["ModelPackageArn"].endswith("/1")
    assert [r.rule for r in strict_aws.refusals] == ["sm-version-tags"] * 2
    strict_aws.enabled.discard("sm-version-tags")
    assert sagemaker().create_model_package(**version_request(Tags=[]))["ModelPackageArn"]


def test_transform_instance_type_enum(strict_aws: StrictAwsServer) -> None:
    """ml.r5.large is a real-time type, not a TransformInstanceType: refused with Coral's
    message and the enum of the newest botocore model; fine as a real-time type."""
    make_group()
    spec = version_request()["InferenceSpecification"]
    bad = {**spec, "SupportedTransformInstanceTypes": ["ml.r5.large"]}
    status, code, message = refusal(
        lambda: sagemaker().create_model_package(**version_request(InferenceSpecification=bad))
    )
    enum = sagemaker_model()["shapes"]["TransformInstanceType"]["enum"]
    assert "ml.r5.large" not in enum
    expected = validation_message(
        "inferenceSpecification.supportedTransformInstanceTypes",
        "[ml.r5.large]",
        "Member must satisfy constraint: [Member must satisfy enum value set: "
        f"[{', '.join(enum)}]]",
    )
    assert (status, code, message) == (400, "ValidationException", expected)
    assert strict_aws.refusal_rules() == ["sm-transform-instance-types"]
    good = {**spec, "SupportedRealtimeInferenceInstanceTypes": ["ml.r5.large", "ml.t2.medium"]}
    assert sagemaker().create_model_package(**version_request(InferenceSpecification=good))


def test_realtime_instance_type_enum(strict_aws: StrictAwsServer) -> None:
    """A real-time type outside ProductionVariantInstanceType is refused; one inside passes."""
    make_group()
    spec = version_request()["InferenceSpecification"]
    bad = {**spec, "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large", "ml.m5.nano"]}
    status, code, message = refusal(
        lambda: sagemaker().create_model_package(**version_request(InferenceSpecification=bad))
    )
    assert (status, code) == (400, "ValidationException")
    assert message.startswith(
        "1 validation error detected: Value '[ml.m5.large, ml.m5.nano]' at "
        "'inferenceSpecification.supportedRealtimeInferenceInstanceTypes' failed to satisfy "
        "constraint: Member must satisfy constraint: [Member must satisfy enum value set: ["
    )
    assert strict_aws.refusal_rules() == ["sm-realtime-instance-types"]
    assert sagemaker().create_model_package(**version_request())


@pytest.mark.parametrize(
    ("metadata", "constraint"),
    [
        (
            {"owner": "Buyer & Seller (EU)"},
            "Map value must satisfy constraint: [Member must satisfy regular expression "
            "pattern: ([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)${1,256}]",
        ),
        (
            {"owner": "x" * 257},
            "Map value must satisfy constraint: [Member must have length less than or equal "
            "to 256]",
        ),
        (
            {"k" * 129: "x"},
            "Map keys must satisfy constraint: [Member must have length less than or equal to 128]",
        ),
        ({f"k{i}": "v" for i in range(51)}, "Member must have length less than or equal to 50"),
    ],
)
def test_customer_metadata_constraints(
    strict_aws: StrictAwsServer, metadata: dict[str, str], constraint: str
) -> None:
    """CustomerMetadataProperties beyond AWS's pattern, lengths or 50 entries are refused (on
    create and on update); Unicode letters, digits and _.:/=+-@ pass."""
    make_group()
    status, code, message = refusal(
        lambda: sagemaker().create_model_package(
            **version_request(CustomerMetadataProperties=metadata)
        )
    )
    assert (status, code) == (400, "ValidationException")
    assert message.startswith("1 validation error detected: Value '{")
    assert message.endswith(
        f"' at 'customerMetadataProperties' failed to satisfy constraint: {constraint}"
    )
    allowed = {"owner": "Zürich team 東京: a/b=c+d@e_f.g-h", "count": "42"}
    arn = sagemaker().create_model_package(**version_request(CustomerMetadataProperties=allowed))[
        "ModelPackageArn"
    ]
    status, code, _ = refusal(
        lambda: sagemaker().update_model_package(
            ModelPackageArn=arn, CustomerMetadataProperties=metadata
        )
    )
    assert (status, code) == (400, "ValidationException")
    assert strict_aws.refusal_rules() == ["sm-customer-metadata"] * 2


def test_customer_metadata_empty_value_refused_by_botocore(strict_aws: StrictAwsServer) -> None:
    """An empty metadata value never reaches AWS: botocore checks the model's minimum length."""
    make_group()
    with pytest.raises(ParamValidationError, match="valid min length: 1"):
        sagemaker().create_model_package(**version_request(CustomerMetadataProperties={"o": ""}))
    assert strict_aws.requests["sagemaker:CreateModelPackage"] == 0


@pytest.mark.parametrize(
    ("field", "text", "refused"),
    [
        ("ModelPackageDescription", "two\nlines", True),
        ("ModelPackageDescription", "a\ttab", True),
        ("ModelPackageDescription", "x" * 1025, True),
        ("ModelPackageDescription", "Fraud (EU) — v2, 100 % ✓ [beta]", False),
        ("ApprovalDescription", "two\nlines", True),
        ("ApprovalDescription", "x" * 1025, True),
        ("ApprovalDescription", "a\ttab, approved by me (EU)", False),
    ],
)
def test_description_constraints(
    strict_aws: StrictAwsServer, field: str, text: str, refused: bool
) -> None:
    """Descriptions: at most 1024 characters; ModelPackageDescription only letters, marks,
    separators, symbols, numbers, punctuation (no control characters); ApprovalDescription the
    model's '.*' (Java: no line terminators, a tab passes)."""
    make_group()
    arn = sagemaker().create_model_package(**version_request())["ModelPackageArn"]

    def call() -> object:
        if field == "ModelPackageDescription":
            return sagemaker().create_model_package(**version_request(**{field: text}))
        return sagemaker().update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription=text
        )

    if not refused:
        call()
        assert strict_aws.refusals == []
        return
    status, code, message = refusal(call)
    path = field[0].lower() + field[1:]
    assert (status, code) == (400, "ValidationException")
    assert message.startswith(f"1 validation error detected: Value '{text}' at '{path}' failed")
    pattern = sagemaker_model()["shapes"][
        "EntityDescription" if field == "ModelPackageDescription" else "ApprovalDescription"
    ]["pattern"]
    why = "length less than or equal to 1024" if len(text) > 1024 else f"pattern: {pattern}"
    assert message.endswith(why)
    assert strict_aws.refusal_rules() == ["sm-description"]


@pytest.mark.parametrize(
    ("name", "refused"),
    [("bad_name", True), ("-leading", True), ("a" * 64, True), ("Good-Name-1", False)],
)
def test_group_name_constraints(strict_aws: StrictAwsServer, name: str, refused: bool) -> None:
    """Group names: 1 to 63 of [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}; nothing client-side checks it."""
    call = functools.partial(sagemaker().create_model_package_group, ModelPackageGroupName=name)
    if not refused:
        assert call()["ModelPackageGroupArn"].lower().endswith(f"/{name.lower()}")
        return
    status, code, message = refusal(call)
    assert (status, code) == (400, "ValidationException")
    # Coral lists each violated constraint: too long and off the pattern are two errors.
    count = "2 validation errors" if len(name) > 63 else "1 validation error"
    assert message.startswith(f"{count} detected: Value '{name}' at 'modelPackageGroupName'")
    assert strict_aws.refusal_rules() == ["sm-entity-name"]


def test_group_description_control_characters(strict_aws: StrictAwsServer) -> None:
    """A group description with a newline (a YAML block scalar) is refused; one line passes."""
    status, code, message = refusal(
        lambda: sagemaker().create_model_package_group(
            ModelPackageGroupName=GROUP, ModelPackageGroupDescription="line one\nline two\n"
        )
    )
    assert (status, code) == (400, "ValidationException")
    assert "at 'modelPackageGroupDescription' failed to satisfy constraint" in message
    make_group(ModelPackageGroupDescription="line one, line two")
    assert strict_aws.refusal_rules() == ["sm-description"]


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ([{"Key": "aws:owner", "Value": "x"}], "reserved"),
        ([{"Key": "owner", "Value": "Buyer & Seller"}], "at 'tags.1.member.value'"),
        ([{"Key": "a" * 129, "Value": "x"}], "at 'tags.1.member.key'"),
        ([{"Key": f"k{i}", "Value": "v"} for i in range(51)], "at 'tags' failed"),
    ],
)
def test_tag_constraints(
    strict_aws: StrictAwsServer, tags: list[dict[str, str]], expected: str
) -> None:
    """Tags: at most 50; keys 1-128, values 0-256 of AWS's pattern; no 'aws:' keys."""
    status, code, message = refusal(lambda: make_group(Tags=tags))
    assert (status, code) == (400, "ValidationException")
    assert expected in message
    assert strict_aws.refusal_rules() == ["sm-tags"]
    make_group(Tags=[{"Key": "owner", "Value": ""}, {"Key": "team:name", "Value": "a/b=c+d@e"}])


def test_other_model_constraints(strict_aws: StrictAwsServer) -> None:
    """Any other constraint of the model holds too: a ClientToken with '_' or over 36
    characters is refused (botocore checks neither)."""
    make_group()
    for token in ("abc_def", "a" * 37):
        status, code, message = refusal(
            functools.partial(
                sagemaker().create_model_package, **version_request(ClientToken=token)
            )
        )
        assert (status, code) == (400, "ValidationException")
        assert f"Value '{token}' at 'clientToken' failed to satisfy constraint" in message
    assert strict_aws.refusal_rules() == ["sm-model-constraints"] * 2


def test_client_token_idempotent(strict_aws: StrictAwsServer) -> None:
    """A repeated ClientToken returns the first package, no second version (AWS); a reused
    token with another body returns the first package too (AWS's answer unconfirmed); with the
    rule off, moto makes a version per call."""
    make_group()
    first = sagemaker().create_model_package(**version_request(ClientToken="token-1"))
    again = sagemaker().create_model_package(**version_request(ClientToken="token-1"))
    other = sagemaker().create_model_package(
        **version_request(ClientToken="token-1", ModelPackageDescription="another body")
    )
    assert first["ModelPackageArn"] == again["ModelPackageArn"] == other["ModelPackageArn"]
    listed = sagemaker().list_model_packages(ModelPackageGroupName=GROUP)
    assert len(listed["ModelPackageSummaryList"]) == 1
    # Replayed twice: the same body, then another body under the same token.
    assert strict_aws.replays == [
        ("sagemaker:CreateModelPackage", False),
        ("sagemaker:CreateModelPackage", True),
    ]
    assert strict_aws.requests["sagemaker:CreateModelPackage"] == 3
    # Tokens are per region: the same token in another region is another package.
    make_group(EU)
    eu = sagemaker(EU).create_model_package(**version_request(EU, ClientToken="token-1"))
    assert eu["ModelPackageArn"].startswith(f"arn:aws:sagemaker:{EU}:")
    strict_aws.enabled.discard("sm-client-token")
    sagemaker().create_model_package(**version_request(ClientToken="token-1"))
    listed = sagemaker().list_model_packages(ModelPackageGroupName=GROUP)
    assert len(listed["ModelPackageSummaryList"]) == 2


def test_update_keeps_metadata(strict_aws: StrictAwsServer) -> None:
    """An approval keeps the version's metadata and description (AWS); metadata updates merge,
    CustomerMetadataPropertiesToRemove removes; with the rule off, moto blanks the metadata."""
    make_group()
    metadata = {"mimsreg:owner": "my-team-id", "mimsreg:record": "s3://b/records/x.json"}
    arn = sagemaker().create_model_package(**version_request(CustomerMetadataProperties=metadata))[
        "ModelPackageArn"
    ]
    client = sagemaker()
    client.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="by me"
    )
    package = client.describe_model_package(ModelPackageName=arn)
    assert package["CustomerMetadataProperties"] == metadata
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["ModelPackageDescription"] == version_request()["ModelPackageDescription"]
    client.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"extra": "1"})
    package = client.describe_model_package(ModelPackageName=arn)
    assert package["CustomerMetadataProperties"] == {**metadata, "extra": "1"}
    assert (package["ModelApprovalStatus"], package["ApprovalDescription"]) == ("Approved", "by me")
    client.update_model_package(
        ModelPackageArn=arn, CustomerMetadataPropertiesToRemove=["mimsreg:record"]
    )
    package = client.describe_model_package(ModelPackageName=arn)
    assert package["CustomerMetadataProperties"] == {"mimsreg:owner": "my-team-id", "extra": "1"}
    strict_aws.enabled.discard("sm-update-keeps-fields")
    client.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    package = client.describe_model_package(ModelPackageName=arn)
    assert not package.get("CustomerMetadataProperties")  # moto's loss, which AWS does not have


def test_delete_model_package(strict_aws: StrictAwsServer) -> None:
    """DeleteModelPackage (moto has none): the version is gone from Describe, Update and the
    listing, a second delete is refused, and the next version gets the next number, not its."""
    make_group()
    client = sagemaker()
    first = client.create_model_package(**version_request())["ModelPackageArn"]
    second = client.create_model_package(**version_request())["ModelPackageArn"]
    client.delete_model_package(ModelPackageName=second)
    listed = client.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    assert [item["ModelPackageArn"] for item in listed] == [first]
    for call in (
        lambda: client.describe_model_package(ModelPackageName=second),
        lambda: client.update_model_package(ModelPackageArn=second, ModelApprovalStatus="Approved"),
        lambda: client.delete_model_package(ModelPackageName=second),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        assert "does not exist" in caught.value.response["Error"]["Message"]
    third = client.create_model_package(**version_request())["ModelPackageArn"]
    assert third.endswith("/3")
    assert client.describe_model_package(ModelPackageName=first)["ModelPackageVersion"] == 1
    strict_aws.enabled.discard("sm-delete-model-package")
    once = boto3.client(
        "sagemaker", region_name=US, config=Config(retries={"total_max_attempts": 1})
    )
    with pytest.raises(ClientError) as moto_answer:  # moto itself has no DeleteModelPackage
        once.delete_model_package(ModelPackageName=first)
    assert moto_answer.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_default_approval_status(strict_aws: StrictAwsServer) -> None:
    """A version created without ModelApprovalStatus is PendingManualApproval (moto: none)."""
    make_group()
    request = version_request()
    del request["ModelApprovalStatus"]
    arn = sagemaker().create_model_package(**request)["ModelPackageArn"]
    assert (
        sagemaker().describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]
        == "PendingManualApproval"
    )
    strict_aws.enabled.discard("sm-default-approval")
    arn = sagemaker().create_model_package(**request)["ModelPackageArn"]
    assert "ModelApprovalStatus" not in sagemaker().describe_model_package(ModelPackageName=arn)


def test_dropped_fields_kept(strict_aws: StrictAwsServer) -> None:
    """SecurityConfig, SkipModelValidation, SourceUri and ModelCard given at create are returned
    by DescribeModelPackage, as on AWS; with the rule off, moto's answer lacks them."""
    make_group()
    key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    kept: dict[str, Any] = {
        "SecurityConfig": {"KmsKeyId": key},
        "SkipModelValidation": "All",
        "SourceUri": "s3://mimsreg-test-us-east-1/model.tar.gz",
        "ModelCard": {"ModelCardContent": "{}", "ModelCardStatus": "Draft"},
    }
    arn = sagemaker().create_model_package(**version_request(**kept))["ModelPackageArn"]
    package = sagemaker().describe_model_package(ModelPackageName=arn)
    assert {name: package.get(name) for name in kept} == kept
    strict_aws.enabled.discard("sm-kept-fields")
    package = sagemaker().describe_model_package(ModelPackageName=arn)
    assert not any(name in package for name in kept)


def test_search_pages(strict_aws: StrictAwsServer) -> None:
    """Search answers at most MaxResults packages per call and a NextToken for the rest, as AWS
    does; an unknown token is refused; with the rule off, moto answers everything at once."""
    make_group()
    arns = {
        sagemaker().create_model_package(**version_request())["ModelPackageArn"] for _ in range(5)
    }
    query = {
        "Resource": "ModelPackage",
        "SearchExpression": {
            "Filters": [{"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": GROUP}]
        },
    }
    pages, found, token = 0, [], None
    while True:
        page = sagemaker().search(**query, MaxResults=2, **({"NextToken": token} if token else {}))
        pages += 1
        assert len(page["Results"]) <= 2
        found += [r["ModelPackage"]["ModelPackageArn"] for r in page["Results"]]
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 3
    assert sorted(found) == sorted(arns)
    assert found[0] in arns
    assert found[:1] == [
        r["ModelPackage"]["ModelPackageArn"]
        for r in sagemaker().search(**query, MaxResults=1)["Results"]
    ]
    status, code, _ = refusal(lambda: sagemaker().search(**query, NextToken="made-up"))
    assert (status, code) == (400, "ValidationException")
    assert strict_aws.refusal_rules() == ["sm-search-pages"]
    strict_aws.enabled.discard("sm-search-pages")
    assert len(sagemaker().search(**query, MaxResults=2)["Results"]) == 5


def test_group_exists_refused(strict_aws: StrictAwsServer) -> None:
    """Creating a group that exists is a ValidationException, and its tags stay (moto would
    replace the group and wipe them)."""
    make_group(Tags=[{"Key": "team", "Value": "fraud"}])
    status, code, message = refusal(make_group)
    assert (status, code) == (400, "ValidationException")
    assert message.startswith("Model Package Group already exists: arn:aws:sagemaker:us-east-1:")
    arn = sagemaker().describe_model_package_group(ModelPackageGroupName=GROUP)[
        "ModelPackageGroupArn"
    ]
    assert sagemaker().list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "fraud"}]
    assert strict_aws.refusal_rules() == ["sm-group-exists"]
    make_group(EU)  # groups are per region


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("ModelDataUrl", "s3://mimsreg-test-eu-west-1/model.tar.gz"),
        ("ModelDataUrl", "https://mimsreg-test-eu-west-1.s3.eu-west-1.amazonaws.com/m.tar.gz"),
        ("SamplePayloadUrl", "s3://mimsreg-test-eu-west-1/payload.tar.gz"),
        ("S3Uri", "s3://mimsreg-test-eu-west-1/model/"),
    ],
)
def test_artifact_region(strict_aws: StrictAwsServer, field: str, url: str) -> None:
    """Model artifacts and sample payloads in another region's bucket are refused, naming the
    URL and both regions; the same request in the bucket's own region passes."""
    make_group()
    make_group(EU)

    def request(region: str) -> dict[str, Any]:
        body = version_request(region)
        container = body["InferenceSpecification"]["Containers"][0]
        if field == "ModelDataUrl":
            container["ModelDataUrl"] = url
        elif field == "S3Uri":
            del container["ModelDataUrl"]
            container["ModelDataSource"] = {
                "S3DataSource": {"S3Uri": url, "S3DataType": "S3Prefix", "CompressionType": "None"}
            }
        else:
            body["SamplePayloadUrl"] = url
        return body

    status, code, message = refusal(lambda: sagemaker(US).create_model_package(**request(US)))
    assert (status, code) == (400, "ValidationException")
    assert url in message
    assert "in region eu-west-1; the model package is created in us-east-1" in message
    assert strict_aws.refusal_rules() == ["sm-artifact-region"]
    assert sagemaker(EU).create_model_package(**request(EU))["ModelPackageArn"]


@pytest.mark.parametrize(
    ("uri", "compression", "reason"),
    [
        ("s3://{bucket}/model", "None", "must end with '/'"),
        ("s3://{bucket}/model/", "Gzip", "Gzip goes with S3Object"),
        ("s3://{bucket}/model/", "None", None),
    ],
)
def test_model_data_source(
    strict_aws: StrictAwsServer, uri: str, compression: str, reason: str | None
) -> None:
    """An S3Prefix model data source must name a prefix ending with '/', uncompressed; moto
    accepts anything. The accepted one comes back from DescribeModelPackage."""
    make_group()
    body = version_request()
    container = body["InferenceSpecification"]["Containers"][0]
    del container["ModelDataUrl"]
    url = uri.format(bucket=BUCKET.format(region=US))
    source = {"S3Uri": url, "S3DataType": "S3Prefix", "CompressionType": compression}
    container["ModelDataSource"] = {"S3DataSource": source}
    if reason is None:
        arn = sagemaker().create_model_package(**body)["ModelPackageArn"]
        described = sagemaker().describe_model_package(ModelPackageName=arn)
        [kept] = described["InferenceSpecification"]["Containers"]
        assert kept["ModelDataSource"] == {"S3DataSource": source}
        return
    status, code, message = refusal(lambda: sagemaker().create_model_package(**body))
    assert (status, code) == (400, "ValidationException")
    assert reason in message
    assert strict_aws.refusal_rules() == ["sm-model-data-source"]


@pytest.mark.parametrize(
    ("key", "refused"),
    [
        ("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", True),
        ("arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab", True),
        ("arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab", False),
        ("arn:aws:kms:us-east-1:111122223333:alias/mimsreg", False),
        ("alias/mimsreg", False),
        ("1234abcd-12ab-34cd-56ef-1234567890ab", False),
    ],
)
def test_sagemaker_kms_region(strict_aws: StrictAwsServer, key: str, refused: bool) -> None:
    """SecurityConfig.KmsKeyId as an ARN must name the request's region (a multi-Region key
    through its replica there); ids and aliases resolve in the region and pass."""
    make_group()
    call = functools.partial(
        sagemaker().create_model_package, **version_request(SecurityConfig={"KmsKeyId": key})
    )
    if not refused:
        assert call()["ModelPackageArn"]
        return
    status, code, message = refusal(call)
    assert (status, code) == (400, "ValidationException")
    assert key in message
    assert strict_aws.refusal_rules() == ["sm-kms-region"]


# --- S3 ----------------------------------------------------------------------------------------


def raw_request(
    server: StrictAwsServer,
    method: str,
    path: str,
    region: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """A request by hand (moto checks no signature): only the SigV4 scope's region matters."""
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    all_headers = {
        "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20261204/{region}/s3/"
        "aws4_request, SignedHeaders=host, Signature=0",
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
        **(headers or {}),
    }
    try:
        connection.request(method, path, body=body, headers=all_headers)
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


def test_s3_wrong_region_redirect(strict_aws: StrictAwsServer) -> None:
    """A request signed for another region than the bucket's is answered as S3 does (301
    PermanentRedirect, or 400 AuthorizationHeaderMalformed when signed for us-east-1, with
    x-amz-bucket-region; no body after HEAD); botocore then redirects by itself, so the client
    sees success: a bucket's region must be checked (HeadBucket's header) before writing."""
    status, headers, body = raw_request(strict_aws, "PUT", "/mimsreg-test-us-east-1/k", EU, b"x")
    assert (status, headers["x-amz-bucket-region"]) == (301, US)
    assert b"<Code>PermanentRedirect</Code>" in body
    assert b"<Endpoint>mimsreg-test-us-east-1.s3.us-east-1.amazonaws.com</Endpoint>" in body
    status, headers, body = raw_request(strict_aws, "GET", "/mimsreg-test-eu-west-1/k", US)
    assert (status, headers["x-amz-bucket-region"]) == (400, EU)
    assert b"<Code>AuthorizationHeaderMalformed</Code>" in body
    assert b"the region 'us-east-1' is wrong; expecting 'eu-west-1'" in body
    status, headers, body = raw_request(strict_aws, "HEAD", "/mimsreg-test-us-east-1", EU)
    assert (status, headers["x-amz-bucket-region"], body) == (301, US, b"")
    # GetBucketLocation answers whatever the signing region: it is how a client finds it.
    status, _, body = raw_request(strict_aws, "GET", "/mimsreg-test-us-east-1?location", EU)
    assert status == 200
    strict_aws.reset()
    client = s3(US)
    client.put_object(Bucket="mimsreg-test-eu-west-1", Key="k", Body=b"landed elsewhere")
    assert strict_aws.refusal_rules() == ["s3-bucket-region"]
    assert strict_aws.requests["s3:PutObject"] == 2  # refused, then redirected by botocore
    head = s3(US).head_bucket(Bucket="mimsreg-test-eu-west-1")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == EU


def test_conditional_write_if_none_match(strict_aws: StrictAwsServer) -> None:
    """If-None-Match: * writes a key once; a second write is 412 PreconditionFailed and the
    first body stays."""
    client, bucket = s3(), BUCKET.format(region=US)
    client.put_object(Bucket=bucket, Key="lock", Body=b"first", IfNoneMatch="*")
    status, code, message = refusal(
        lambda: client.put_object(Bucket=bucket, Key="lock", Body=b"second", IfNoneMatch="*")
    )
    assert (status, code, message) == (
        412,
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
    )
    assert client.get_object(Bucket=bucket, Key="lock")["Body"].read() == b"first"
    assert strict_aws.refusal_rules() == ["s3-conditional-write"]


def test_conditional_write_if_match(strict_aws: StrictAwsServer) -> None:
    """If-Match writes (and deletes) only over the ETag given: another ETag is 412, an absent
    key 404 NoSuchKey."""
    client, bucket = s3(), BUCKET.format(region=US)
    etag = client.put_object(Bucket=bucket, Key="lease", Body=b"v1")["ETag"]
    renewed = client.put_object(Bucket=bucket, Key="lease", Body=b"v2", IfMatch=etag)["ETag"]
    stale = functools.partial(
        client.put_object, Bucket=bucket, Key="lease", Body=b"v3", IfMatch=etag
    )
    assert refusal(stale)[:2] == (412, "PreconditionFailed")
    absent = functools.partial(
        client.put_object, Bucket=bucket, Key="none", Body=b"x", IfMatch=etag
    )
    assert refusal(absent)[:2] == (404, "NoSuchKey")
    delete_stale = functools.partial(client.delete_object, Bucket=bucket, Key="lease", IfMatch=etag)
    assert refusal(delete_stale)[:2] == (412, "PreconditionFailed")
    client.delete_object(Bucket=bucket, Key="lease", IfMatch=renewed)
    assert refusal(lambda: client.head_object(Bucket=bucket, Key="lease"))[0] == 404
    assert strict_aws.refusal_rules() == ["s3-conditional-write"] * 3


def test_conditional_write_concurrent_one_winner(strict_aws: StrictAwsServer) -> None:
    """Eight writers put one key with If-None-Match: * at once: exactly one wins, seven get 412,
    and the object is the winner's (round after round)."""
    bucket = BUCKET.format(region=US)
    clients = [s3() for _ in range(8)]
    for round_ in range(5):
        key = f"race-{round_}"
        outcomes: dict[int, str] = {}
        start = threading.Barrier(len(clients))

        def write(
            index: int,
            key: str = key,
            outcomes: dict[int, str] = outcomes,
            start: threading.Barrier = start,
        ) -> None:
            start.wait()
            try:
                clients[index].put_object(
                    Bucket=bucket, Key=key, Body=f"writer {index}".encode(), IfNoneMatch="*"
                )
                outcomes[index] = "won"
            except ClientError as exc:
                outcomes[index] = exc.response["Error"]["Code"]

        threads = [threading.Thread(target=write, args=(i,)) for i in range(len(clients))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [i for i, outcome in outcomes.items() if outcome == "won"]
        assert len(winners) == 1, outcomes
        assert sorted(outcomes.values()).count("PreconditionFailed") == len(clients) - 1
        body = s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        assert body == f"writer {winners[0]}".encode()


def test_conditional_complete_multipart(strict_aws: StrictAwsServer) -> None:
    """CompleteMultipartUpload with If-None-Match: * over an existing key is 412; the existing
    object stays."""
    client, bucket = s3(), BUCKET.format(region=US)
    client.put_object(Bucket=bucket, Key="big", Body=b"existing")
    upload = client.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    part = client.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=1, Body=b"p")
    parts = {"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]}
    status, code, _ = refusal(
        lambda: client.complete_multipart_upload(
            Bucket=bucket, Key="big", UploadId=upload, MultipartUpload=parts, IfNoneMatch="*"
        )
    )
    assert (status, code) == (412, "PreconditionFailed")
    assert client.get_object(Bucket=bucket, Key="big")["Body"].read() == b"existing"


def test_checksum_sha256_header(strict_aws: StrictAwsServer) -> None:
    """A ChecksumSHA256 that is not the body's is 400 BadDigest; botocore's own is accepted."""
    client, bucket = s3(), BUCKET.format(region=US)
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    status, code, message = refusal(
        lambda: client.put_object(Bucket=bucket, Key="doc", Body=b"body", ChecksumSHA256=wrong)
    )
    assert (status, code, message) == (
        400,
        "BadDigest",
        "The SHA256 you specified did not match the calculated checksum.",
    )
    client.put_object(Bucket=bucket, Key="doc", Body=b"body", ChecksumAlgorithm="SHA256")
    assert strict_aws.refusal_rules() == ["s3-checksum-sha256"]


def test_composite_checksum_of_an_object_written_in_parts(strict_aws: StrictAwsServer) -> None:
    """Written in two parts with SHA-256 part checksums: the object's checksum is the SHA-256 of
    the parts' digests, then '-2', as AWS gives it; an object written whole keeps its digest."""
    client, bucket = s3(), BUCKET.format(region=US)
    parts = [b"a" * (5 * 1024 * 1024), b"tail"]
    upload = client.create_multipart_upload(Bucket=bucket, Key="big", ChecksumAlgorithm="SHA256")
    done = []
    for number, data in enumerate(parts, start=1):
        answer = client.upload_part(
            Bucket=bucket,
            Key="big",
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="SHA256",
        )
        done.append(
            {
                "PartNumber": number,
                "ETag": answer["ETag"],
                "ChecksumSHA256": answer["ChecksumSHA256"],
            }
        )
    client.complete_multipart_upload(
        Bucket=bucket, Key="big", UploadId=upload["UploadId"], MultipartUpload={"Parts": done}
    )
    digests = b"".join(hashlib.sha256(data).digest() for data in parts)
    expected = base64.b64encode(hashlib.sha256(digests).digest()).decode() + "-2"
    head = client.head_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == expected
    got = client.get_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == expected
    client.put_object(Bucket=bucket, Key="small", Body=b"body", ChecksumAlgorithm="SHA256")
    whole = client.head_object(Bucket=bucket, Key="small", ChecksumMode="ENABLED")
    assert whole["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"body").digest()).decode()


def aws_chunked(data: bytes, checksum: str) -> bytes:
    """An aws-chunked body with a trailing checksum, as botocore frames it over HTTPS
    (STREAMING-UNSIGNED-PAYLOAD-TRAILER: chunks of 1000 bytes, no chunk signatures)."""
    chunks = [data[i : i + 1000] for i in range(0, len(data), 1000)]
    framed = b"".join(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for chunk in chunks)
    return framed + b"0\r\n" + f"x-amz-checksum-sha256:{checksum}\r\n\r\n".encode()


def test_checksum_sha256_aws_chunked_trailer(strict_aws: StrictAwsServer) -> None:
    """An aws-chunked body (STREAMING-UNSIGNED-PAYLOAD-TRAILER) is decoded: a trailing checksum
    that is not the data's is BadDigest; the right one stores the data, unframed."""
    data = b"model bytes " * 200  # three chunks
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-trailer": "x-amz-checksum-sha256",
        "x-amz-decoded-content-length": str(len(data)),
    }
    path = f"/{BUCKET.format(region=US)}/chunked"
    wrong = base64.b64encode(hashlib.sha256(b"x").digest()).decode()
    status, _, body = raw_request(strict_aws, "PUT", path, US, aws_chunked(data, wrong), headers)
    assert (status, b"<Code>BadDigest</Code>" in body) == (400, True)
    right = base64.b64encode(hashlib.sha256(data).digest()).decode()
    status, _, _ = raw_request(strict_aws, "PUT", path, US, aws_chunked(data, right), headers)
    assert status == 200
    stored = s3().get_object(Bucket=BUCKET.format(region=US), Key="chunked")["Body"].read()
    assert stored == data


@pytest.mark.parametrize(
    ("key", "refused"),
    [
        ("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", True),
        ("arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab", True),
        ("arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab", False),
        ("alias/mimsreg", False),
    ],
)
def test_s3_kms_region(strict_aws: StrictAwsServer, key: str, refused: bool) -> None:
    """SSE-KMS with a key ARN of another region is 400 KMS.NotFoundException 'Invalid arn
    <region>'; the region's own key (multi-Region replica included) and aliases pass."""
    client, bucket = s3(), BUCKET.format(region=US)
    call = functools.partial(
        client.put_object,
        Bucket=bucket,
        Key="doc",
        Body=b"x",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=key,
    )
    if not refused:
        call()
        assert strict_aws.refusals == []
        return
    assert refusal(call) == (400, "KMS.NotFoundException", "Invalid arn us-east-1")
    assert strict_aws.refusal_rules() == ["s3-kms-region"]


# --- the layer itself --------------------------------------------------------------------------


def test_requests_counted_per_operation(strict_aws: StrictAwsServer) -> None:
    """Every request through the proxy is counted per service and operation, refused or not."""
    make_group()
    sagemaker().list_model_packages(ModelPackageGroupName=GROUP)
    client = s3()
    client.put_object(Bucket=BUCKET.format(region=US), Key="a", Body=b"a", IfNoneMatch="*")
    refusal(
        lambda: client.put_object(
            Bucket=BUCKET.format(region=US), Key="a", Body=b"a", IfNoneMatch="*"
        )
    )
    client.head_object(Bucket=BUCKET.format(region=US), Key="a")
    assert dict(strict_aws.requests) == {
        "sagemaker:CreateModelPackageGroup": 1,
        "sagemaker:ListModelPackages": 1,
        "s3:PutObject": 2,
        "s3:HeadObject": 1,
    }


def test_proxy_fault_is_answered_and_recorded(
    strict_aws: StrictAwsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule that raises is answered as AWS's internal error (500 InternalError) and recorded in
    ``errors``, which the strict_aws fixture turns into a failure at teardown."""

    def broken(bucket: str) -> str:
        raise RuntimeError(f"no region for {bucket}")

    monkeypatch.setattr(strict_aws, "bucket_region", broken)
    client = boto3.client("s3", region_name=US, config=Config(retries={"total_max_attempts": 1}))
    status, code, message = refusal(
        lambda: client.put_object(Bucket=BUCKET.format(region=US), Key="k", Body=b"x")
    )
    assert (status, code) == (500, "InternalError")
    assert "RuntimeError: no region for mimsreg-test-us-east-1" in message
    assert len(strict_aws.errors) == 1
    assert strict_aws.errors[0].startswith("s3:PutObject: ")
    strict_aws.errors.clear()  # seen: the fixture's teardown check is not this test's subject


def test_aws_chunked_decoding_signed_and_unsigned() -> None:
    """Both aws-chunked variants decode to the data and the trailers: signed chunks carry
    ';chunk-signature=' extensions and a trailer signature, unsigned ones neither."""
    signed = (
        b"3;chunk-signature=ab\r\nabc\r\n2;chunk-signature=cd\r\nde\r\n0;chunk-signature=ef\r\n"
        b"x-amz-checksum-sha256:XYZ=\r\nx-amz-trailer-signature:ff\r\n\r\n"
    )
    assert decode_aws_chunked(signed) == (
        b"abcde",
        {"x-amz-checksum-sha256": "XYZ=", "x-amz-trailer-signature": "ff"},
    )
    unsigned = b"5\r\nabcde\r\n0\r\nx-amz-checksum-sha256:XYZ=\r\n\r\n"
    assert decode_aws_chunked(unsigned) == (b"abcde", {"x-amz-checksum-sha256": "XYZ="})


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("[\\p{L}\\p{M}\\p{Z}\\p{S}\\p{N}\\p{P}]*", "Zürich — 東京 (EU) 100 % ✓", True),
        ("[\\p{L}\\p{M}\\p{Z}\\p{S}\\p{N}\\p{P}]*", "a\u0007bell", False),
        ("([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)${1,256}", "a/b=c+d@e-f_g.h:i", True),
        ("([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)${1,256}", "Buyer & Seller", False),
        (".*", "tab\there", True),
        (".*", "line\u2028separator", False),
    ],
)
def test_java_patterns_in_python(pattern: str, value: str, matches: bool) -> None:
    """The model's Java patterns match whole values in Python: \\p classes from unicodedata,
    Java's '.' without line terminators, the quantified end anchor of the metadata shapes."""
    compiled = java_pattern(pattern)
    assert compiled is not None
    assert (compiled.fullmatch(value) is not None) is matches


def test_rules_table_is_documented_and_tested() -> None:
    """Every rule names its source and a test of this module, and docs/aws-fidelity.md lists it."""
    document = DOCS.read_text(encoding="utf-8")
    names = set(globals())
    for rule in RULES.values():
        assert rule.source
        assert rule.refuses
        assert rule.enforcement
        assert any(name.startswith(rule.test.rstrip("*")) for name in names), rule.test
        assert f"`{rule.id}`" in document, rule.id


OLD_BOTOCORE_SCRIPT = """
import json, sys
import boto3, botocore
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

client = boto3.client("s3", region_name="us-east-1", endpoint_url=sys.argv[1])
result = {"botocore": botocore.__version__}
try:
    client.put_object(Bucket=sys.argv[2], Key="k", Body=b"x", IfNoneMatch="*")
except ParamValidationError:
    result["IfNoneMatch parameter"] = "unknown to this botocore"

def if_none_match(request, **_):
    request.headers["If-None-Match"] = "*"

client.meta.events.register("before-sign.s3.PutObject", if_none_match)
outcomes = []
for body in (b"first", b"second"):
    try:
        client.put_object(Bucket=sys.argv[2], Key="lock", Body=body)
        outcomes.append("written")
    except ClientError as exc:
        outcomes.append(exc.response["Error"]["Code"])
result["outcomes"] = outcomes
result["body"] = client.get_object(Bucket=sys.argv[2], Key="lock")["Body"].read().decode()
print(json.dumps(result))
"""


@pytest.mark.slow
def test_old_botocore_conditional_write(
    strict_aws: StrictAwsServer, python39_old_boto3: str
) -> None:
    """Python 3.9 with botocore 1.31.57 (the processing images'): IfNoneMatch is not a
    parameter there, but the header set in a before-sign handler is honoured: first write
    wins, the second is 412 PreconditionFailed."""
    completed = subprocess.run(
        [python39_old_boto3, "-c", OLD_BOTOCORE_SCRIPT, strict_aws.url, BUCKET.format(region=US)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(completed.stdout)
    assert result == {
        "botocore": "1.31.57",
        "IfNoneMatch parameter": "unknown to this botocore",
        "outcomes": ["written", "PreconditionFailed"],
        "body": "first",
    }
    assert strict_aws.refusal_rules() == ["s3-conditional-write"]
