"""`mimsreg iam-policy`: a least-privilege policy per role, partition-aware, a key per region."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mimsreg.cli import IAM_POLICY_KINDS
from mimsreg.errors import BadInputError
from mimsreg.iam import POLICY_KINDS, iam_policy, partition_of, registration_policy
from tests.conftest import SEED_EXAMPLE
from tests.support.cli import invoke
from tests.support.helpers import seed_spec

ACCOUNT = "123456789012"
GROUP = "BuyerSellerMessaging-FraudDetection"
US_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EU_KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890ab"


def by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in document["Statement"]}


def actions(document: dict[str, Any]) -> set[str]:
    return {action for statement in document["Statement"] for action in statement["Action"]}


def resources(document: dict[str, Any]) -> list[str]:
    return [r for statement in document["Statement"] for r in statement["Resource"]]


def test_register_names_each_regions_bucket_prefixes_and_group() -> None:
    """The registrar's objects are the prefixes mimsreg writes, per region's bucket; the group's
    lease object only; the group and its versions in each region."""
    policy = registration_policy(seed_spec(), ["us-east-1", "eu-west-1"], account=ACCOUNT)
    statements = by_sid(policy)
    assert statements["S3Objects"]["Resource"] == sorted(
        f"arn:aws:s3:::mimsreg-test-{region}/mimsreg/{folder}/*"
        for region in ("us-east-1", "eu-west-1")
        for folder in ("artifacts", "records", "schemas", "approvals")
    )
    assert statements["S3CreateLock"]["Action"] == [
        "s3:DeleteObject",
        "s3:GetObject",
        "s3:PutObject",
    ]
    assert statements["S3CreateLock"]["Resource"] == [
        f"arn:aws:s3:::mimsreg-test-eu-west-1/mimsreg/locks/{GROUP}.json",
        f"arn:aws:s3:::mimsreg-test-us-east-1/mimsreg/locks/{GROUP}.json",
    ]
    assert "s3:DeleteObject" not in statements["S3Objects"]["Action"]
    assert (
        f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:model-package/{GROUP}/*"
        in statements["RegistryCreateVersion"]["Resource"]
    )
    assert statements["S3Bucket"]["Action"] == ["s3:GetBucketLocation", "s3:ListBucket"]
    assert not any(a == "*" or a.endswith(":*") for a in actions(policy))
    assert not any(sid.startswith("Kms") for sid in statements)


def test_register_cannot_approve_and_creates_pending_versions_only() -> None:
    """No UpdateModelPackage for the registrar; CreateModelPackage only with the configured
    (default PendingManualApproval) status, through sagemaker:ModelApprovalStatus."""
    policy = iam_policy("register", seed_spec(), ["us-east-1"])
    assert "sagemaker:UpdateModelPackage" not in actions(policy.document)
    create = by_sid(policy.document)["RegistryCreateVersion"]
    assert create["Action"] == ["sagemaker:CreateModelPackage"]
    assert create["Condition"] == {
        "StringEquals": {"sagemaker:ModelApprovalStatus": ["PendingManualApproval"]}
    }
    assert policy.warnings == ()


def test_register_for_approved_status_warns_and_allows_it() -> None:
    """A config registering as Approved gets a condition allowing Approved, and a warning."""
    policy = iam_policy("register", seed_spec(approval_status="Approved"), ["us-east-1"])
    create = by_sid(policy.document)["RegistryCreateVersion"]
    assert create["Condition"]["StringEquals"]["sagemaker:ModelApprovalStatus"] == ["Approved"]
    assert any("Approved" in message for message in policy.warnings)


def test_approve_updates_and_reads_but_creates_nothing() -> None:
    """Approvers may UpdateModelPackage, read versions and records, write approval documents."""
    document = iam_policy("approve", seed_spec(), ["us-east-1"], ACCOUNT).document
    granted = actions(document)
    assert "sagemaker:UpdateModelPackage" in granted
    assert {"sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"} <= granted
    assert not any(":Create" in action for action in granted)
    assert "s3:DeleteObject" not in granted
    statements = by_sid(document)
    assert statements["S3Approvals"]["Resource"] == [
        "arn:aws:s3:::mimsreg-test-us-east-1/mimsreg/approvals/*"
    ]
    assert statements["S3Records"]["Action"] == ["s3:GetObject"]


def test_gc_deletes_under_the_prefix_and_only_reads_sagemaker() -> None:
    """gc lists and deletes objects under mimsreg/, aborts uploads; SageMaker read only."""
    document = iam_policy("gc", seed_spec(), ["eu-west-1"], ACCOUNT).document
    granted = actions(document)
    assert {"s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListBucketMultipartUploads"} <= (
        granted
    )
    assert by_sid(document)["S3Delete"]["Resource"] == [
        "arn:aws:s3:::mimsreg-test-eu-west-1/mimsreg/*"
    ]
    sagemaker = {a for a in granted if a.startswith("sagemaker:")}
    assert sagemaker == {
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackageGroups",
        "sagemaker:ListModelPackages",
    }
    assert "s3:PutObject" not in granted


def test_pipeline_role_runs_the_job_and_passes_only_the_job_role() -> None:
    """The pipeline role creates/describes/stops processing jobs and passes the config's role to
    SageMaker only; the job reads runtime/, specs/ and the model, writes results/, registers."""
    role = f"arn:aws:iam::{ACCOUNT}:role/mims-job"
    policy = iam_policy(
        "pipeline-role",
        seed_spec(role=role),
        ["us-east-1", "eu-west-1"],
        ACCOUNT,
        role=role,
        packaged_model="s3://packages/fraud/model.tar.gz",
    )
    statements = by_sid(policy.document)
    assert statements["PipelineProcessingJob"]["Action"] == [
        "sagemaker:AddTags",
        "sagemaker:CreateProcessingJob",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:StopProcessingJob",
    ]
    assert statements["PipelinePassJobRole"]["Resource"] == [role]
    assert statements["PipelinePassJobRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": ["sagemaker.amazonaws.com"]}
    }
    assert statements["JobInputs"]["Resource"] == [
        "arn:aws:s3:::mimsreg-test-us-east-1/mimsreg/runtime/*",
        "arn:aws:s3:::mimsreg-test-us-east-1/mimsreg/specs/*",
        "arn:aws:s3:::packages/fraud/model.tar.gz*",
    ]
    assert statements["JobResults"]["Resource"] == [
        "arn:aws:s3:::mimsreg-test-us-east-1/mimsreg/results/*"
    ]
    assert "RegistryCreateVersion" in statements  # the job's role registers
    assert policy.warnings == ()


def test_pipeline_role_without_role_or_model_uses_placeholders_and_warns() -> None:
    """No role in the config: a placeholder role ARN and a warning; no model: a warning."""
    policy = iam_policy("pipeline-role", seed_spec(), ["us-east-1"], ACCOUNT)
    passed = by_sid(policy.document)["PipelinePassJobRole"]["Resource"]
    assert passed == [f"arn:aws:iam::{ACCOUNT}:role/MIMSREG-JOB-ROLE"]
    assert len(policy.warnings) == 2


def test_pipeline_job_locations_match_the_builder() -> None:
    """The runtime, spec and results keys the policy grants are where the builder puts them."""
    from mimsreg.iam import PIPELINE_FOLDERS, PIPELINE_PREFIX, PIPELINE_RESULTS
    from mimsreg.pipeline.builder import DEFAULT_KEY_PREFIX

    source = Path("src/mimsreg/pipeline/builder.py").read_text(encoding="utf-8")
    assert PIPELINE_PREFIX == DEFAULT_KEY_PREFIX
    assert '"specs", "sha256"' in source
    assert '"results"' in source
    assert [*PIPELINE_FOLDERS, PIPELINE_RESULTS] == ["runtime/", "specs/", "results/"]


@pytest.mark.parametrize(
    ("region", "partition", "suffix"),
    [
        ("us-east-1", "aws", "amazonaws.com"),
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
    ],
)
def test_arns_follow_the_regions_partition(region: str, partition: str, suffix: str) -> None:
    """Every ARN of every policy is in the region's partition; ViaService uses its DNS suffix."""
    assert partition_of(region) == partition
    spec = seed_spec(kms_key_id="alias/models", region=region)  # the pipeline runs there too
    for kind in POLICY_KINDS:
        document = iam_policy(kind, spec, [region], ACCOUNT).document
        arns = [r for r in resources(document) if r != "*"]
        assert arns, kind
        assert all(r.startswith(f"arn:{partition}:") for r in arns), (kind, arns)
    kms = by_sid(iam_policy("register", spec, [region], ACCOUNT).document)
    via = next(s for sid, s in kms.items() if sid.startswith("Kms"))["Condition"]
    assert via["StringEquals"]["kms:ViaService"] == [
        f"s3.{region}.{suffix}",
        f"sagemaker.{region}.{suffix}",
    ]


def test_regions_of_two_partitions_are_refused() -> None:
    """An IAM policy lives in one partition: mixing aws and aws-cn regions is bad input."""
    with pytest.raises(BadInputError, match="span the partitions aws, aws-cn"):
        iam_policy("register", seed_spec(), ["us-east-1", "cn-north-1"])


def test_one_kms_statement_per_regions_key_with_create_grant_via_services() -> None:
    """With a mapping, each region's key gets its own statement: GenerateDataKey, Decrypt,
    DescribeKey and CreateGrant, only through S3 and SageMaker in that region."""
    spec = seed_spec(kms_key_id={"NA": US_KEY, "EU": EU_KEY})
    statements = by_sid(iam_policy("register", spec, ["NA", "eu-west-1"], ACCOUNT).document)
    for sid, region, key in (
        ("KmsUsEast1", "us-east-1", US_KEY),
        ("KmsEuWest1", "eu-west-1", EU_KEY),
    ):
        statement = statements[sid]
        assert statement["Resource"] == [key]
        assert statement["Action"] == [
            "kms:CreateGrant",
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:GenerateDataKey",
        ]
        assert statement["Condition"] == {
            "StringEquals": {
                "kms:ViaService": [
                    f"s3.{region}.amazonaws.com",
                    f"sagemaker.{region}.amazonaws.com",
                ]
            }
        }


@pytest.mark.parametrize(
    ("key", "resource", "alias"),
    [
        ("alias/models", f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/*", "alias/models"),
        (
            "arn:aws:kms:eu-west-1:999999999999:alias/team/models",
            "arn:aws:kms:eu-west-1:999999999999:key/*",
            "alias/team/models",
        ),
        (
            "mrk-1234abcd12ab34cd56ef1234567890ab",
            f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890ab",
            None,
        ),
    ],
)
def test_aliases_are_granted_by_kms_resource_aliases_not_as_resource(
    key: str, resource: str, alias: str | None
) -> None:
    """An alias in Resource would grant nothing on the key: the region's keys are granted under
    kms:ResourceAliases instead; a bare key id becomes the region's key ARN."""
    document = iam_policy("register", seed_spec(kms_key_id=key), ["eu-west-1"], ACCOUNT).document
    statement = by_sid(document)["KmsEuWest1"]
    assert statement["Resource"] == [resource]
    assert not any(":alias/" in r for r in resources(document))
    expected = {"kms:ResourceAliases": [alias]} if alias else None
    assert statement["Condition"].get("ForAnyValue:StringEquals") == expected


def test_a_key_of_another_region_or_a_missing_mapping_entry_is_refused() -> None:
    """The policy is never written for a key that cannot serve a target region."""
    with pytest.raises(BadInputError, match="is in us-east-1, not in eu-west-1"):
        iam_policy("register", seed_spec(kms_key_id=US_KEY), ["eu-west-1"])
    with pytest.raises(BadInputError, match="no KMS key for region eu-west-1"):
        iam_policy("register", seed_spec(kms_key_id={"NA": US_KEY}), ["NA", "EU"])


def test_policy_needs_a_bucket() -> None:
    """A target region without a bucket is bad input, naming the field and region."""
    with pytest.raises(BadInputError, match="no S3 bucket for region 'eu-west-1'"):
        registration_policy(seed_spec(bucket={"us-east-1": "b"}), ["us-east-1", "eu-west-1"])


def test_output_is_deterministic_and_sorted() -> None:
    """Statements sorted by Sid, each list sorted; the same input gives the same document."""
    spec = seed_spec(kms_key_id={"NA": US_KEY, "EU": EU_KEY})
    for kind in POLICY_KINDS:
        first = iam_policy(kind, spec, ["eu-west-1", "us-east-1"], ACCOUNT).document
        second = iam_policy(kind, spec, ["eu-west-1", "us-east-1"], ACCOUNT).document
        assert json.dumps(first) == json.dumps(second)
        sids = [s["Sid"] for s in first["Statement"]]
        assert sids == sorted(sids)
        assert len(set(sids)) == len(sids)
        assert all(sid.isalnum() for sid in sids)
        for statement in first["Statement"]:
            assert statement["Action"] == sorted(statement["Action"])
            assert statement["Resource"] == sorted(statement["Resource"])


def test_cli_kinds_are_the_librarys() -> None:
    """--for offers exactly the policies the library builds."""
    assert IAM_POLICY_KINDS == POLICY_KINDS


def write_config(tmp_path: Path, **changes: Any) -> Path:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({**SEED_EXAMPLE, "bucket": "models-{region}", **changes}))
    return config


def test_cli_prints_the_register_policy_by_default(tmp_path: Path) -> None:
    """Without --for, the registration policy (as before), for every --region given."""
    config = write_config(tmp_path, kms_key_id={"NA": US_KEY, "EU": EU_KEY})
    result = invoke("iam-policy", str(config), "--region", "NA,EU")
    assert result.exit_code == 0, result.output
    policy = json.loads(result.stdout)
    assert policy["Version"] == "2012-10-17"
    assert "arn:aws:s3:::models-eu-west-1/mimsreg/artifacts/*" in resources(policy)
    assert {US_KEY, EU_KEY} <= set(resources(policy))
    assert "kms:CreateGrant" in actions(policy)
    assert "sagemaker:UpdateModelPackage" not in actions(policy)


def test_cli_for_each_kind(tmp_path: Path) -> None:
    """Every --for prints a policy; approve is the one with UpdateModelPackage."""
    config = write_config(tmp_path)
    for kind in POLICY_KINDS:
        result = invoke("iam-policy", str(config), "--for", kind)
        assert result.exit_code == 0, (kind, result.output)
        granted = actions(json.loads(result.stdout))
        assert ("sagemaker:UpdateModelPackage" in granted) == (kind == "approve"), kind


def test_cli_partitions(tmp_path: Path) -> None:
    """China and GovCloud regions print arn:aws-cn: and arn:aws-us-gov: ARNs."""
    config = write_config(tmp_path)
    for region, partition in (("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")):
        result = invoke("iam-policy", str(config), "--region", region)
        assert result.exit_code == 0, result.output
        arns = [r for r in resources(json.loads(result.stdout)) if r != "*"]
        assert all(r.startswith(f"arn:{partition}:") for r in arns)


def test_cli_warnings_go_to_stderr(tmp_path: Path) -> None:
    """Warnings (here: registering as Approved) are on stderr; stdout stays valid JSON."""
    config = write_config(tmp_path, approval_status="Approved")
    result = invoke("iam-policy", str(config))
    assert result.exit_code == 0
    json.loads(result.stdout)
    assert "warning: approval_status is Approved" in result.stderr


def test_cli_bad_input_exits_2(tmp_path: Path) -> None:
    """A bad --for, or a config without a bucket, exits 2 with the reason on stderr."""
    config = write_config(tmp_path)
    bad = invoke("iam-policy", str(config), "--for", "admin")
    assert bad.exit_code == 2
    assert "'admin' is not one of 'register', 'approve', 'gc', 'pipeline-role'" in bad.stderr
    assert bad.stdout == ""
    no_bucket = tmp_path / "n.yaml"
    no_bucket.write_text(yaml.safe_dump(SEED_EXAMPLE))
    failed = invoke("iam-policy", str(no_bucket))
    assert failed.exit_code == 2
    assert "bucket" in failed.stderr
