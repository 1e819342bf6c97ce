"""The least-privilege IAM policy a SageMaker registration needs. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mimsreg.engine.inventory.create_lock import LOCK_PREFIX
from mimsreg.engine.inventory.sagemaker import KEY_PREFIX
from mimsreg.engine.spec import RegistrationSpec

__all__ = ["registration_policy"]

SAGEMAKER_ACTIONS = [
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:CreateModelPackageGroup",
    "sagemaker:ListModelPackages",
    "sagemaker:DescribeModelPackage",
    "sagemaker:CreateModelPackage",
    "sagemaker:UpdateModelPackage",
    "sagemaker:AddTags",
]
# Listing groups cannot be narrowed to one group (it is account-wide); `list` needs it.
SAGEMAKER_ACCOUNT_ACTIONS = ["sagemaker:ListModelPackageGroups"]
S3_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]


def registration_policy(
    spec: RegistrationSpec, regions: Sequence[str], account: str = "*"
) -> dict[str, Any]:
    """An IAM policy document allowing exactly what registering ``spec`` in ``regions`` does."""
    buckets = []
    for region in regions:
        bucket = spec.require_bucket(region)
        if bucket not in buckets:
            buckets.append(bucket)
    group = spec.model_package_group_name
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ModelRegistry",
            "Effect": "Allow",
            "Action": SAGEMAKER_ACTIONS,
            "Resource": [
                arn
                for region in regions
                for arn in (
                    f"arn:aws:sagemaker:{region}:{account}:model-package-group/{group}",
                    f"arn:aws:sagemaker:{region}:{account}:model-package/{group}/*",
                )
            ],
        },
        {
            "Sid": "ListGroups",
            "Effect": "Allow",
            "Action": SAGEMAKER_ACCOUNT_ACTIONS,
            "Resource": "*",
        },
        {
            "Sid": "Artifacts",
            "Effect": "Allow",
            "Action": S3_OBJECT_ACTIONS,
            "Resource": [f"arn:aws:s3:::{bucket}/{KEY_PREFIX}*" for bucket in buckets],
        },
        {
            # Releasing the group's create lock deletes its lease object (create_lock).
            "Sid": "CreateLock",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject"],
            "Resource": [f"arn:aws:s3:::{bucket}/{LOCK_PREFIX}{group}.json" for bucket in buckets],
        },
        {
            # Without ListBucket a missing key answers 403 instead of 404, and the skip of an
            # artifact already in place could not tell "absent" from "forbidden".
            "Sid": "ArtifactLookup",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}" for bucket in buckets],
            "Condition": {"StringLike": {"s3:prefix": [f"{KEY_PREFIX}*"]}},
        },
    ]
    if spec.kms_key_id:
        key = spec.kms_key_id
        resource = key if key.startswith("arn:") else f"arn:aws:kms:*:{account}:key/*"
        statements.append(
            {
                "Sid": "Encryption",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"],
                "Resource": resource,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
