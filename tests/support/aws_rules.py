"""What AWS refuses that moto accepts: the rules of the strict layer, pure functions, no I/O.

Each rule has an id (switchable in the proxy, ``tests/support/strict_aws.py``), what AWS refuses,
and where that is written down. The constraint checks of SageMaker requests are driven by botocore's
service model loaded at run time, so they follow AWS as botocore's model moves: AWS's front end
(Coral) checks every length, pattern and enum of the model and answers with one
``ValidationException`` listing each violation; botocore checks only types, required members and
minimum lengths on the client.

Patterns in the model are Java regular expressions matched against the whole value
(``Matcher.matches``). Python's ``re`` has no ``\\p{..}`` classes, so they are expanded from
``unicodedata`` general categories; Java's ``.`` excludes line terminators, Python's only ``\\n``.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "RULES",
    "Rule",
    "Violation",
    "coral_message",
    "java_pattern",
    "kms_arn_region",
    "model_data_source_problems",
    "parse_s3_url",
    "sagemaker_model",
    "validate_request",
]


@dataclass(frozen=True)
class Rule:
    id: str
    service: str
    refuses: str  # what AWS refuses (or does) that moto does not
    source: str  # where that is written down
    enforcement: str  # how the strict layer enforces it
    test: str  # the test in tests/test_strict_aws.py that proves it


_MODEL = "botocore service model sagemaker/service-2"
RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "sm-version-tags",
            "sagemaker",
            "CreateModelPackage with ModelPackageGroupName and a Tags key (even []): 400 "
            "ValidationException 'Tags are not supported in Model Package versions. Please add "
            "them to the Model Package Group'",
            "aws-cdk issue #33699; CreateModelPackageInput.Tags documentation: 'If you supply "
            "ModelPackageGroupName ... you cannot supply a tag argument'",
            "refused in the proxy before moto sees it",
            "test_version_tags_refused",
        ),
        Rule(
            "sm-transform-instance-types",
            "sagemaker",
            "InferenceSpecification.SupportedTransformInstanceTypes members outside the "
            "TransformInstanceType enum (ml.r5.large, ml.t2.medium, ml.c7g.*...)",
            f"{_MODEL}: shapes TransformInstanceTypes, TransformInstanceType (enum)",
            "Coral-style validation of the request against the newest botocore model",
            "test_transform_instance_type_enum",
        ),
        Rule(
            "sm-realtime-instance-types",
            "sagemaker",
            "SupportedRealtimeInferenceInstanceTypes members outside ProductionVariantInstanceType",
            f"{_MODEL}: shapes RealtimeInferenceInstanceTypes, ProductionVariantInstanceType",
            "Coral-style validation against the model's enum",
            "test_realtime_instance_type_enum",
        ),
        Rule(
            "sm-customer-metadata",
            "sagemaker",
            "CustomerMetadataProperties (Create/UpdateModelPackage) with more than 50 entries, "
            "keys not 1-128 or values not 1-256 characters of [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]",
            f"{_MODEL}: shapes CustomerMetadataMap, CustomerMetadataKey, CustomerMetadataValue",
            "Coral-style validation, patterns from the model (\\p classes from unicodedata)",
            "test_customer_metadata_constraints",
        ),
        Rule(
            "sm-description",
            "sagemaker",
            "ModelPackageDescription / ModelPackageGroupDescription over 1024 characters or "
            "outside [\\p{L}\\p{M}\\p{Z}\\p{S}\\p{N}\\p{P}]* (newline, tab: control characters); "
            "ApprovalDescription over 1024 or not matching the model's '.*' (a line terminator)",
            f"{_MODEL}: shapes EntityDescription, ApprovalDescription",
            "Coral-style validation, Java '.' semantics for '.*'",
            "test_description_constraints",
        ),
        Rule(
            "sm-entity-name",
            "sagemaker",
            "ModelPackageGroupName (CreateModelPackageGroup) not 1-63 characters of "
            "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
            f"{_MODEL}: shape EntityName",
            "Coral-style validation",
            "test_group_name_constraints",
        ),
        Rule(
            "sm-tags",
            "sagemaker",
            "more than 50 tags; tag keys not 1-128, values not 0-256 characters of "
            "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]; keys starting with 'aws:' (reserved)",
            f"{_MODEL}: shapes TagList, TagKey, TagValue; the aws: prefix: AWS General "
            "Reference, 'Tagging AWS resources' (tag naming limits)",
            "Coral-style validation plus the aws: prefix check",
            "test_tag_constraints",
        ),
        Rule(
            "sm-model-constraints",
            "sagemaker",
            "any other length, pattern or enum constraint of the model on a SageMaker request "
            "(ClientToken [a-zA-Z0-9-]+ up to 36, Url (https|s3)://..., ModelApprovalStatus...)",
            f"{_MODEL}: every string, list and map shape",
            "Coral-style validation of the whole input shape",
            "test_other_model_constraints",
        ),
        Rule(
            "sm-client-token",
            "sagemaker",
            "moto ignores ClientToken (two versions); AWS returns the first package for a "
            "repeated token",
            f"{_MODEL}: CreateModelPackageInput.ClientToken 'guarantees that the call to this "
            "API is idempotent' (idempotencyToken trait)",
            "the first answer per (region, token) is replayed without calling moto",
            "test_client_token_idempotent",
        ),
        Rule(
            "sm-update-keeps-fields",
            "sagemaker",
            "moto's UpdateModelPackage blanks ModelApprovalStatus, ApprovalDescription and "
            "CustomerMetadataProperties not passed; AWS leaves them, merges the given metadata "
            "and removes only CustomerMetadataPropertiesToRemove",
            "UpdateModelPackage API reference (each field optional, CustomerMetadataProperties"
            "ToRemove); the moto/AWS table in docs/aws-fidelity.md",
            "the request is completed from DescribeModelPackage (via moto) before it is forwarded",
            "test_update_keeps_metadata",
        ),
        Rule(
            "sm-default-approval",
            "sagemaker",
            "moto stores no ModelApprovalStatus when none is given; AWS sets "
            "PendingManualApproval on a versioned package",
            "project reference notes sagemaker-and-moto.md, moto/AWS table; not "
            "stated in the API reference: unconfirmed",
            "PendingManualApproval is added to a versioned create that has none",
            "test_default_approval_status",
        ),
        Rule(
            "sm-kept-fields",
            "sagemaker",
            "moto drops SecurityConfig, SkipModelValidation, SourceUri and ModelCard of "
            "CreateModelPackage; AWS stores them and DescribeModelPackage returns them",
            f"{_MODEL}: DescribeModelPackageOutput members SecurityConfig, SkipModelValidation, "
            "SourceUri, ModelCard",
            "the fields of each successful create are kept per (region, ARN) and added to "
            "DescribeModelPackage answers that lack them",
            "test_dropped_fields_kept",
        ),
        Rule(
            "sm-search-pages",
            "sagemaker",
            "moto's Search answers every match at once and ignores MaxResults; AWS answers at "
            "most MaxResults (1 to 100) results per call and a NextToken for the rest",
            f"{_MODEL}: SearchRequest.MaxResults (range 1-100), SearchResponse.NextToken; the "
            "default page size when MaxResults is absent is not documented (10 assumed)",
            "moto's answer to the first call is kept and handed out MaxResults at a time, the "
            "NextToken naming the kept answer and the offset",
            "test_search_pages",
        ),
        Rule(
            "sm-delete-model-package",
            "sagemaker",
            "moto (5.2) has no DeleteModelPackage; AWS deletes the version: later Describe/"
            "UpdateModelPackage answer ValidationException, ListModelPackages leaves it out, "
            "and its number is not given to the next version",
            f"{_MODEL}: operation DeleteModelPackage; SageMaker Developer Guide, 'Delete a "
            "model version'; the error wording and the numbering: unconfirmed",
            "the deleted ARN is remembered per region: hidden from ListModelPackages, refused "
            "in Describe/Update/DeleteModelPackage (moto keeps it, so its number stays used)",
            "test_delete_model_package",
        ),
        Rule(
            "sm-group-exists",
            "sagemaker",
            "CreateModelPackageGroup of an existing group: moto replaces it (tags wiped); AWS "
            "answers ValidationException saying it already exists",
            "project reference notes sagemaker-and-moto.md, moto/AWS table; wording unconfirmed",
            "DescribeModelPackageGroup via moto first; refused when it exists",
            "test_group_exists_refused",
        ),
        Rule(
            "sm-artifact-region",
            "sagemaker",
            "ModelDataUrl, ModelDataSource.S3DataSource.S3Uri, SamplePayloadUrl in a bucket of "
            "another region than the request's",
            f"{_MODEL}: ModelPackageContainerDefinition.ModelDataUrl 'The model artifacts must "
            "be in an S3 bucket that is in the same region as the model package'",
            "the bucket's region from moto's GetBucketLocation (cached) vs the SigV4 scope region",
            "test_artifact_region",
        ),
        Rule(
            "sm-model-data-source",
            "sagemaker",
            "ModelDataSource.S3DataSource with S3DataType S3Prefix and an S3Uri not ending with "
            "'/', or with CompressionType Gzip (a gzip archive is an S3Object)",
            f"{_MODEL}: S3ModelDataSource.S3DataType 'A valid key name prefix identified by "
            "S3Uri always ends with a forward slash (/)'; S3ModelDataSource.CompressionType "
            "(Gzip only with S3Object; None with S3Prefix: every object under the prefix); "
            "wording of the refusal unconfirmed",
            "refused in the proxy before moto sees it (moto accepts any ModelDataSource)",
            "test_model_data_source",
        ),
        Rule(
            "sm-kms-region",
            "sagemaker",
            "SecurityConfig.KmsKeyId an ARN of another region (KMS keys are regional; a "
            "multi-Region mrk- key is addressed by its replica's ARN in the region)",
            "AWS KMS Developer Guide, 'Multi-Region keys' and key ARNs; wording unconfirmed",
            "the ARN's region vs the SigV4 scope region",
            "test_sagemaker_kms_region",
        ),
        Rule(
            "s3-bucket-region",
            "s3",
            "requests signed for another region than the bucket's: 301 PermanentRedirect (400 "
            "AuthorizationHeaderMalformed when signed for us-east-1, the global endpoint), "
            "x-amz-bucket-region header; HEAD: no body",
            "Amazon S3 API reference, 'Error responses' (PermanentRedirect, "
            "AuthorizationHeaderMalformed); botocore S3RegionRedirectorv2",
            "the bucket's region from moto's GetBucketLocation (cached) vs the SigV4 scope region",
            "test_s3_wrong_region_redirect",
        ),
        Rule(
            "s3-conditional-write",
            "s3",
            "If-None-Match: * on an existing key, If-Match with another ETag: 412 "
            "PreconditionFailed; If-Match on an absent key: 404 NoSuchKey; exactly one of two "
            "concurrent conditional writes wins",
            "botocore s3 model, PutObjectRequest / CompleteMultipartUploadRequest / "
            "CopyObjectRequest / DeleteObjectRequest IfMatch, IfNoneMatch; S3 User Guide "
            "'Conditional requests'",
            "check (HeadObject via moto) and forward under one lock per key",
            "test_conditional_write_*",
        ),
        Rule(
            "s3-checksum-sha256",
            "s3",
            "x-amz-checksum-sha256 (header or aws-chunked trailer) not the body's: 400 BadDigest",
            "Amazon S3 User Guide, 'Checking object integrity'; S3 error code BadDigest",
            "the body (aws-chunked framing decoded) hashed in the proxy",
            "test_checksum_sha256_*",
        ),
        Rule(
            "s3-composite-checksum",
            "s3",
            "HeadObject/GetObject (x-amz-checksum-mode: ENABLED) of an object written in parts "
            "with SHA-256 part checksums: x-amz-checksum-sha256 is the SHA-256 of the parts' "
            "digests followed by '-<parts>' (moto leaves the suffix out)",
            "S3 User Guide, 'Checking object integrity' (checksums of multipart objects: a "
            "checksum of checksums); minio PR #17035 ('AWS is now returning the part count on "
            "multipart checksums'); floci-io/floci PR #3093 (AWS: '...=-2', COMPOSITE)",
            "the part count of moto's multipart ETag ('-<parts>') appended to the checksum",
            "test_composite_checksum_*",
        ),
        Rule(
            "s3-kms-region",
            "s3",
            "SSE-KMS with x-amz-server-side-encryption-aws-kms-key-id an ARN of another region: "
            "400 KMS.NotFoundException 'Invalid arn <region>'",
            "apache/hadoop PR #4637 (NotFoundException: Invalid arn eu-west-2), aws-cli issue "
            "#4507 (S3 answers KMS errors as KMS.NotFoundException)",
            "the ARN's region vs the SigV4 scope region; key ids, aliases, mrk- ids pass",
            "test_s3_kms_region",
        ),
    )
}

# --- Java regular expressions in Python ------------------------------------------------------

# Java's '.' excludes the line terminators (java.util.regex.Pattern, no DOTALL).
_JAVA_DOT = "[^\\n\\r\\x85\\u2028\\u2029]"
_QUANTIFIED_END = re.compile(r"\$\{\d+(,\d*)?\}")


@functools.cache
def _category_ranges() -> dict[str, str]:
    """Character-class bodies (``a-z...``) per general category, major (L) and minor (Lu)."""
    spans: dict[str, list[list[int]]] = {}
    for code in range(sys.maxunicode + 1):
        category = unicodedata.category(chr(code))
        for name in (category[0], category):
            ranges = spans.setdefault(name, [])
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return {
        name: "".join(
            f"\\U{low:08x}" if low == high else f"\\U{low:08x}-\\U{high:08x}"
            for low, high in ranges
        )
        for name, ranges in spans.items()
    }


def _unicode_class(name: str, negated: bool, in_class: bool) -> str | None:
    body = _category_ranges().get(name)
    if body is None:
        return None
    if negated:
        return None if in_class else f"[^{body}]"
    return body if in_class else f"[{body}]"


@functools.cache
def java_pattern(pattern: str) -> re.Pattern[str] | None:
    """The model's Java pattern as a Python one (full match intended); None if unsupported."""
    # '${1,128}' (a quantified end anchor) appears in the model; the length is checked apart.
    pattern = _QUANTIFIED_END.sub("$", pattern)
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            following = pattern[i + 1]
            if following in "pP" and pattern[i + 2 : i + 3] == "{":
                end = pattern.index("}", i)
                expanded = _unicode_class(pattern[i + 3 : end], following == "P", in_class)
                if expanded is None:
                    return None
                out.append(expanded)
                i = end + 1
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        elif char == "." and not in_class:
            char = _JAVA_DOT
        out.append(char)
        i += 1
    try:
        return re.compile("".join(out))
    except re.error:
        return None


# --- Coral validation of a request against the service model ----------------------------------


@dataclass(frozen=True)
class Violation:
    path: str  # 'inferenceSpecification.supportedTransformInstanceTypes', 'tags.1.member.key'
    value: Any
    constraint: str  # 'Member must have length less than or equal to 256'
    shape: str  # the model shape whose constraint failed


@functools.cache
def sagemaker_model() -> Mapping[str, Any]:
    """The newest SageMaker service model botocore has (loaded once)."""
    import botocore.loaders

    return botocore.loaders.Loader().load_service_model("sagemaker", "service-2")  # type: ignore[no-any-return]


def _java_string(value: Any) -> str:
    """A value as Coral prints it (Java's toString of lists and maps)."""
    if isinstance(value, list):
        return "[" + ", ".join(_java_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java_string(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _length_constraints(shape: Mapping[str, Any], length: int) -> list[str]:
    found = []
    if "max" in shape and length > shape["max"]:
        found.append(f"Member must have length less than or equal to {shape['max']}")
    if "min" in shape and length < shape["min"]:
        found.append(f"Member must have length greater than or equal to {shape['min']}")
    return found


def _string_constraints(shape: Mapping[str, Any], value: str) -> list[str]:
    found = _length_constraints(shape, len(value))
    pattern = shape.get("pattern")
    if pattern is not None:
        compiled = java_pattern(pattern)
        if compiled is not None and compiled.fullmatch(value) is None:
            found.append(f"Member must satisfy regular expression pattern: {pattern}")
    enum = shape.get("enum")
    if enum is not None and value not in enum:
        found.append(f"Member must satisfy enum value set: [{', '.join(enum)}]")
    return found


class _Walker:
    def __init__(self, shapes: Mapping[str, Any]) -> None:
        self.shapes = shapes
        self.found: list[Violation] = []

    def member_constraints(self, name: str, value: Any) -> list[str]:
        shape = self.shapes[name]
        if shape["type"] == "string" and isinstance(value, str):
            return _string_constraints(shape, value)
        return []

    def walk(self, name: str, value: Any, path: str) -> None:
        shape = self.shapes[name]
        kind = shape["type"]
        if kind == "structure" and isinstance(value, dict):
            for member, ref in shape.get("members", {}).items():
                if member in value and value[member] is not None:
                    child = f"{path}.{_lower_camel(member)}" if path else _lower_camel(member)
                    self.walk(ref["shape"], value[member], child)
        elif kind == "list" and isinstance(value, list):
            self.collection(name, shape, value, path)
        elif kind == "map" and isinstance(value, dict):
            self.mapping(name, shape, value, path)
        elif kind == "string" and isinstance(value, str):
            for constraint in _string_constraints(shape, value):
                self.found.append(Violation(path, value, constraint, name))

    def collection(self, name: str, shape: Mapping[str, Any], value: list[Any], path: str) -> None:
        for constraint in _length_constraints(shape, len(value)):
            self.found.append(Violation(path, value, constraint, name))
        member = shape["member"]["shape"]
        if self.shapes[member]["type"] == "string":
            failed = sorted({c for item in value for c in self.member_constraints(member, item)})
            if failed:
                constraint = f"Member must satisfy constraint: [{', '.join(failed)}]"
                self.found.append(Violation(path, value, constraint, member))
            return
        for index, item in enumerate(value, start=1):
            self.walk(member, item, f"{path}.{index}.member")

    def mapping(
        self, name: str, shape: Mapping[str, Any], value: dict[Any, Any], path: str
    ) -> None:
        for constraint in _length_constraints(shape, len(value)):
            self.found.append(Violation(path, value, constraint, name))
        for side, label in (("key", "Map keys"), ("value", "Map value")):
            member = shape[side]["shape"]
            items = value.keys() if side == "key" else value.values()
            failed = sorted({c for item in items for c in self.member_constraints(member, item)})
            if failed:
                constraint = f"{label} must satisfy constraint: [{', '.join(failed)}]"
                self.found.append(Violation(path, value, constraint, member))
        value_shape = shape["value"]["shape"]
        if self.shapes[value_shape]["type"] != "string":
            for key, item in value.items():
                self.walk(value_shape, item, f"{path}.{key}")


def validate_request(operation: str, body: Mapping[str, Any]) -> list[Violation]:
    """Every length, pattern and enum violation of a SageMaker request, as Coral finds them."""
    model = sagemaker_model()
    spec = model["operations"].get(operation)
    if spec is None or "input" not in spec:
        return []
    walker = _Walker(model["shapes"])
    walker.walk(spec["input"]["shape"], dict(body), "")
    return walker.found


def coral_message(violations: list[Violation]) -> str:
    """'1 validation error detected: Value '...' at 'path' failed to satisfy constraint: ...'."""
    count = len(violations)
    parts = [
        f"Value '{_java_string(v.value)}' at '{v.path}' failed to satisfy constraint: "
        + v.constraint
        for v in violations
    ]
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(parts)


# --- regions of S3 URLs and KMS ARNs ----------------------------------------------------------

_VIRTUAL_HOST = re.compile(r"^(?P<bucket>.+)\.s3[.-](?:(?P<region>[a-z0-9-]+)\.)?amazonaws\.com")
_PATH_HOST = re.compile(r"^s3[.-](?:(?P<region>[a-z0-9-]+)\.)?amazonaws\.com")
_KMS_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):kms:(?P<region>[a-z0-9-]+):\d{12}:")


def parse_s3_url(url: str) -> str | None:
    """The bucket of an ``s3://`` or ``https://`` S3 URL; None when it is neither."""
    if url.startswith("s3://"):
        return url[5:].split("/", 1)[0] or None
    if url.startswith("https://"):
        host, _, path = url[8:].partition("/")
        hosted = _VIRTUAL_HOST.match(host)
        if hosted:
            return hosted.group("bucket")
        if _PATH_HOST.match(host):
            return path.split("/", 1)[0] or None
    return None


def kms_arn_region(key: str) -> str | None:
    """The region named by a KMS key or alias ARN (mrk- included); None for ids and aliases."""
    found = _KMS_ARN.match(key)
    return found.group("region") if found else None


def model_data_source_problems(body: Mapping[str, Any]) -> list[str]:
    """What AWS refuses in the ``ModelDataSource`` of each container (rule sm-model-data-source)."""
    problems = []
    containers = (body.get("InferenceSpecification") or {}).get("Containers") or []
    for index, container in enumerate(containers, 1):
        source = (container.get("ModelDataSource") or {}).get("S3DataSource")
        if not isinstance(source, dict) or source.get("S3DataType") != "S3Prefix":
            continue
        where = f"InferenceSpecification.Containers.{index}.ModelDataSource.S3DataSource"
        uri = str(source.get("S3Uri") or "")
        if not uri.endswith("/"):
            problems.append(f"{where}.S3Uri {uri!r}: a key name prefix must end with '/'")
        if source.get("CompressionType") != "None":
            problems.append(
                f"{where}.CompressionType {source.get('CompressionType')!r}: an S3Prefix "
                "is uncompressed (CompressionType None); Gzip goes with S3Object"
            )
    return problems


def s3_urls(body: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(field path, URL) of every S3 location a CreateModelPackage request points to."""
    specs = [("InferenceSpecification", body.get("InferenceSpecification") or {})]
    for index, extra in enumerate(body.get("AdditionalInferenceSpecifications") or [], 1):
        specs.append((f"AdditionalInferenceSpecifications.{index}", extra))
    for where, spec in specs:
        for index, container in enumerate(spec.get("Containers") or [], 1):
            base = f"{where}.Containers.{index}"
            if container.get("ModelDataUrl"):
                yield f"{base}.ModelDataUrl", str(container["ModelDataUrl"])
            source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
            if source.get("S3Uri"):
                yield f"{base}.ModelDataSource.S3DataSource.S3Uri", str(source["S3Uri"])
    if body.get("SamplePayloadUrl"):
        yield "SamplePayloadUrl", str(body["SamplePayloadUrl"])
