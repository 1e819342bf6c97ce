"""Least-privilege IAM policies for each role around a SageMaker registration. Pure.

Four policies, one per role (``docs/iam.md``): ``register`` (who runs ``mimsreg register``, or the
processing job), ``approve`` (the approvers: the only one allowed ``UpdateModelPackage``), ``gc``
(``mimsreg gc``), and ``pipeline-role`` (the pipeline execution role, plus the processing job's
own needs). ARNs follow each region's partition (``aws``, ``aws-cn``, ``aws-us-gov``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mimsreg.engine.inventory.create_lock import LOCK_PREFIX
from mimsreg.engine.inventory.sagemaker import KEY_PREFIX
from mimsreg.engine.spec import (
    ApprovalStatus,
    RegistrationSpec,
    dns_suffix_of,
    kms_key_region,
    normalise_region,
    partition_of,
)
from mimsreg.errors import BadInputError

__all__ = [
    "POLICY_KINDS",
    "Policy",
    "iam_policy",
    "partition_of",
    "registration_policy",
]

POLICY_KINDS = ("register", "approve", "gc", "pipeline-role")

# What mimsreg writes under KEY_PREFIX in each region's bucket (plan.artifact_key, the SageMaker
# backend): artifacts and sample payloads share artifacts/ (content-addressed).
ARTIFACTS, RECORDS, SCHEMAS, APPROVALS = "artifacts/", "records/", "schemas/", "approvals/"
# Where the pipeline builder puts the job's inputs and outputs, under its key prefix
# (pipeline/builder.py: DEFAULT_KEY_PREFIX, runtime_uri, spec_uri, results_prefix).
PIPELINE_PREFIX = "mimsreg"
PIPELINE_FOLDERS = ("runtime/", "specs/")
PIPELINE_RESULTS = "results/"
KMS_USE = ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]


@dataclass(frozen=True)
class Policy:
    """An IAM policy document and what its reader should know (printed on stderr)."""

    document: dict[str, Any]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Scope:
    """What every statement is built from: one partition, its regions and their buckets."""

    spec: RegistrationSpec
    regions: tuple[str, ...]
    account: str
    partition: str
    buckets: tuple[str, ...]

    def sagemaker(self, region: str, resource: str) -> str:
        return f"arn:{self.partition}:sagemaker:{region}:{self.account}:{resource}"

    def groups(self) -> list[str]:
        group = self.spec.model_package_group_name
        return [self.sagemaker(r, f"model-package-group/{group}") for r in self.regions]

    def versions(self) -> list[str]:
        group = self.spec.model_package_group_name
        return [self.sagemaker(r, f"model-package/{group}/*") for r in self.regions]

    def bucket_arns(self) -> list[str]:
        return [f"arn:{self.partition}:s3:::{bucket}" for bucket in self.buckets]

    def objects(self, *folders: str) -> list[str]:
        return [f"{arn}/{KEY_PREFIX}{folder}*" for arn in self.bucket_arns() for folder in folders]


def _scope(spec: RegistrationSpec, regions: Sequence[str], account: str) -> _Scope:
    try:
        targets = tuple(dict.fromkeys(normalise_region(r) for r in regions)) or (spec.region,)
    except ValueError as exc:
        raise BadInputError(f"--region: {exc}") from exc
    partitions = sorted({partition_of(region) for region in targets})
    if len(partitions) > 1:
        raise BadInputError(
            f"--region: the regions span the partitions {', '.join(partitions)}; an IAM policy "
            "lives in one partition: run iam-policy once per partition"
        )
    buckets: list[str] = []
    for region in targets:
        bucket = spec.require_bucket(region)
        if bucket not in buckets:
            buckets.append(bucket)
    return _Scope(spec, targets, account, partitions[0], tuple(buckets))


def _statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[str],
    condition: dict[str, dict[str, list[str]]] | None = None,
) -> dict[str, Any]:
    """One Allow statement, its lists sorted and deduplicated so the output is deterministic."""
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(set(actions)),
        "Resource": sorted(set(resources)),
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": sorted(statements, key=lambda s: s["Sid"])}


def _region_sid(prefix: str, region: str) -> str:
    """``KmsEuWest1``: statement ids are alphanumeric."""
    return prefix + "".join(part.capitalize() for part in region.split("-"))


def _kms_statements(scope: _Scope, actions: list[str], services: Sequence[str]) -> list[Any]:
    """One statement per region's key, usable only through ``services`` in that region.

    An alias in ``Resource`` would grant nothing on the key (KMS: "Use aliases to control access
    to KMS keys"): an alias is matched with ``kms:ResourceAliases`` on the region's keys instead.
    """
    statements = []
    for region in scope.regions:
        key = scope.spec.kms_key_for(region)
        if key is None:
            if scope.spec.kms_key_id is not None:
                raise BadInputError(f"kms_key_id: no KMS key for region {region} in the mapping")
            continue
        if kms_key_region(key) not in (None, region):
            raise BadInputError(
                f"kms_key_id: the key {key!r} is in {kms_key_region(key)}, not in {region}: KMS "
                "keys are regional; give a mapping region → key"
            )
        suffix = dns_suffix_of(region)
        condition: dict[str, dict[str, list[str]]] = {
            "StringEquals": {"kms:ViaService": [f"{s}.{region}.{suffix}" for s in services]}
        }
        resource, alias = _kms_resource(scope, region, key)
        if alias is not None:
            condition["ForAnyValue:StringEquals"] = {"kms:ResourceAliases": [alias]}
        statements.append(_statement(_region_sid("Kms", region), actions, [resource], condition))
    return statements


def _kms_resource(scope: _Scope, region: str, key: str) -> tuple[str, str | None]:
    """The key ARN to grant, and the alias name the key must carry when ``key`` is an alias."""
    if key.startswith("arn:"):
        head, _, name = key.partition(":alias/")
        if name:  # an alias ARN: the same account's and region's keys, by alias
            return f"{head}:key/*", f"alias/{name}"
        return key, None
    base = f"arn:{scope.partition}:kms:{region}:{scope.account}"
    if key.startswith("alias/"):
        return f"{base}:key/*", key
    return f"{base}:key/{key}", None


def _bucket_lookup(scope: _Scope) -> dict[str, Any]:
    # HeadBucket, GetBucketLocation and a HEAD that must answer 404 (not 403) for a missing key
    # carry no s3:prefix, so the prefix is checked only when a listing names one (IfExists).
    return _statement(
        "S3Bucket",
        ["s3:GetBucketLocation", "s3:ListBucket"],
        scope.bucket_arns(),
        {"StringLikeIfExists": {"s3:prefix": [f"{KEY_PREFIX}*"]}},
    )


def _register(scope: _Scope) -> tuple[list[dict[str, Any]], list[str]]:
    group = scope.spec.model_package_group_name
    status = scope.spec.approval_status
    warnings = []
    if status == ApprovalStatus.APPROVED.value:
        warnings.append(
            "approval_status is Approved: the register policy must let CreateModelPackage set "
            "Approved (sagemaker:ModelApprovalStatus), so the registering role skips the "
            "approvers; keep PendingManualApproval to separate the two roles"
        )
    statements = [
        _statement(
            "RegistryGroup",
            [
                "sagemaker:AddTags",
                "sagemaker:CreateModelPackageGroup",
                "sagemaker:DescribeModelPackageGroup",
            ],
            scope.groups(),
        ),
        _statement(
            "RegistryCreateVersion",
            ["sagemaker:CreateModelPackage"],
            # Before it exists a version is named by its group; after, by group/number.
            [scope.sagemaker(r, f"model-package/{group}") for r in scope.regions]
            + scope.versions(),
            {"StringEquals": {"sagemaker:ModelApprovalStatus": [status]}},
        ),
        _statement("RegistryReadVersions", ["sagemaker:DescribeModelPackage"], scope.versions()),
        # ListModelPackages names no package; IAM evaluates it on "*".
        _statement("RegistryList", ["sagemaker:ListModelPackages"], ["*"]),
        _statement(
            "S3Objects",
            [
                "s3:AbortMultipartUpload",
                "s3:GetObject",
                "s3:ListMultipartUploadParts",
                "s3:PutObject",
            ],
            scope.objects(ARTIFACTS, RECORDS, SCHEMAS, APPROVALS),
        ),
        _statement(
            "S3CreateLock",
            ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            [f"{arn}/{LOCK_PREFIX}{group}.json" for arn in scope.bucket_arns()],
        ),
        _bucket_lookup(scope),
        *_kms_statements(scope, KMS_USE, ["s3", "sagemaker"]),
    ]
    return statements, warnings


def _approve(scope: _Scope) -> list[dict[str, Any]]:
    return [
        _statement(
            "RegistryApprove",
            ["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"],
            scope.versions(),
        ),
        _statement("RegistryList", ["sagemaker:ListModelPackages"], ["*"]),
        _statement("S3Records", ["s3:GetObject"], scope.objects(RECORDS)),
        _statement("S3Approvals", ["s3:GetObject", "s3:PutObject"], scope.objects(APPROVALS)),
        _bucket_lookup(scope),
        *_kms_statements(scope, ["kms:Decrypt", "kms:GenerateDataKey"], ["s3"]),
    ]


def _gc(scope: _Scope) -> list[dict[str, Any]]:
    return [
        # gc keeps what any version of any group references: it reads every group's versions.
        _statement(
            "RegistryList",
            ["sagemaker:ListModelPackageGroups", "sagemaker:ListModelPackages"],
            ["*"],
        ),
        _statement(
            "RegistryReadVersions",
            ["sagemaker:DescribeModelPackage"],
            [scope.sagemaker(r, "model-package/*") for r in scope.regions],
        ),
        _statement(
            "S3ListObjects",
            ["s3:ListBucket"],
            scope.bucket_arns(),
            {"StringLike": {"s3:prefix": [f"{KEY_PREFIX}*"]}},
        ),
        _statement("S3ListUploads", ["s3:ListBucketMultipartUploads"], scope.bucket_arns()),
        _statement("S3ReadRecords", ["s3:GetObject"], scope.objects(RECORDS)),
        _statement(
            "S3Delete",
            ["s3:AbortMultipartUpload", "s3:DeleteObject"],
            scope.objects(""),
        ),
        *_kms_statements(scope, ["kms:Decrypt"], ["s3"]),
    ]


def _s3_location(uri: str, partition: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` → the bucket's ARN and the key prefix."""
    if not uri.startswith("s3://") or not uri[len("s3://") :].split("/", 1)[0]:
        raise BadInputError(f"--packaged-model: {uri!r} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return f"arn:{partition}:s3:::{bucket}", key


def _pipeline(
    scope: _Scope, role: str | None, packaged_model: str | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """The pipeline execution role's statements (Pipeline*) and the processing job's (Job*)."""
    home = scope.spec.region  # the pipeline, so its processing jobs, run in the home region
    partition = partition_of(home)
    if partition != scope.partition:
        raise BadInputError(
            f"region: the pipeline's region {home} is in {partition}, the target regions in "
            f"{scope.partition}: a pipeline registers within its own partition"
        )
    warnings = []
    if role is None:
        role = f"arn:{partition}:iam::{scope.account}:role/MIMSREG-JOB-ROLE"
        warnings.append(
            f"role: not in the config: iam:PassRole names the placeholder {role}; "
            "replace it with the processing job's role ARN"
        )
    bucket = scope.spec.bucket_for(home)
    if bucket is None:
        raise BadInputError(f"bucket: no S3 bucket for the pipeline's region {home}")
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    inputs = [f"{PIPELINE_PREFIX}/{folder}" for folder in PIPELINE_FOLDERS]
    input_objects = [f"{bucket_arn}/{prefix}*" for prefix in inputs]
    listings = {bucket_arn: [f"{prefix}*" for prefix in inputs]}
    if packaged_model is None:
        warnings.append(
            "--packaged-model not given: the job's role also needs s3:GetObject (and "
            "s3:ListBucket on the prefix) on the packaged model and any sample payload"
        )
    else:
        model_bucket, key = _s3_location(packaged_model, partition)
        input_objects.append(f"{model_bucket}/{key}*")
        listings.setdefault(model_bucket, []).append(f"{key}*")
    job = f"arn:{partition}:sagemaker:{home}:{scope.account}:processing-job/*"
    logs = f"arn:{partition}:logs:{home}:{scope.account}:log-group:/aws/sagemaker/ProcessingJobs"
    statements = [
        _statement(
            "PipelineProcessingJob",
            [
                "sagemaker:AddTags",
                "sagemaker:CreateProcessingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
            ],
            [job],
        ),
        _statement(
            "PipelinePassJobRole",
            ["iam:PassRole"],
            [role],
            {"StringEquals": {"iam:PassedToService": ["sagemaker.amazonaws.com"]}},
        ),
        _statement("JobInputs", ["s3:GetObject"], input_objects),
        *[
            _statement(
                f"JobInputList{index}",
                ["s3:ListBucket"],
                [arn],
                {"StringLike": {"s3:prefix": prefixes}},
            )
            for index, (arn, prefixes) in enumerate(sorted(listings.items()), start=1)
        ],
        _statement(
            "JobResults",
            ["s3:PutObject"],
            [f"{bucket_arn}/{PIPELINE_PREFIX}/{PIPELINE_RESULTS}*"],
        ),
        _statement(
            "JobLogs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            [logs, f"{logs}:log-stream:*"],
        ),
    ]
    return statements, warnings


def iam_policy(
    kind: str,
    spec: RegistrationSpec,
    regions: Sequence[str],
    account: str = "*",
    *,
    role: str | None = None,
    packaged_model: str | None = None,
) -> Policy:
    """The IAM policy of ``kind`` (one of :data:`POLICY_KINDS`) for ``spec`` in ``regions``.

    ``role`` and ``packaged_model`` concern ``pipeline-role`` only: the processing job's role
    (passed by the pipeline) and the packaged model's S3 location the job reads.
    """
    if kind not in POLICY_KINDS:
        raise BadInputError(f"--for: {kind!r} is not one of {', '.join(POLICY_KINDS)}")
    scope = _scope(spec, regions, account)
    warnings: list[str] = []
    if kind == "register":
        statements, warnings = _register(scope)
    elif kind == "approve":
        statements = _approve(scope)
    elif kind == "gc":
        statements = _gc(scope)
    else:
        # The processing job's role registers: it needs the register policy too.
        statements, warnings = _register(scope)
        pipeline, pipeline_warnings = _pipeline(scope, role, packaged_model)
        statements += pipeline
        warnings += pipeline_warnings
    return Policy(_document(statements), tuple(warnings))


def registration_policy(
    spec: RegistrationSpec, regions: Sequence[str], account: str = "*"
) -> dict[str, Any]:
    """The policy document a registration of ``spec`` in ``regions`` needs (``--for register``)."""
    return iam_policy("register", spec, regions, account).document
