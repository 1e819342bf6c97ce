"""A model folder registered on SageMaker (moto behind the strict layer), two regions: staged as
a prefix (uploaded once, copied server side, every object verified), registered with
ModelDataSource (S3Prefix, CompressionType None), created then unchanged; gc keeps the files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from tests.conftest import SEED_EXAMPLE, TEST_BUCKET
from tests.support.cli import invoke
from tests.support.folders import expected_digest, write_model_folder

REGIONS = ("us-east-1", "eu-west-1")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**SEED_EXAMPLE, "bucket": TEST_BUCKET}))
    return path


def test_a_folder_model_registers_in_two_regions(
    tmp_path: Path, config: Path, strict_aws: Any
) -> None:
    # One shard past the multipart threshold (16 MiB): uploaded in parts, copied in parts.
    folder = write_model_folder(tmp_path / "model", shards=3, shard_bytes=200_000)
    (folder / "weights" / "big.safetensors").write_bytes(b"\x07" * (17 * 1024 * 1024))
    digest = expected_digest(folder)
    args = ("register", folder, "--config", config, "--inventory", "sagemaker")
    first = invoke(*args, "--region", ",".join(REGIONS), "--json")
    assert first.exit_code == 0, first.output
    results = json.loads(first.stdout)
    assert [(r["region"], r["status"], r["sha256"]) for r in results] == [
        (region, "created", digest) for region in REGIONS
    ]
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    # Each file uploaded by one region only (the big one in parts), the other region copying
    # it server side: the small ones whole, the big one part by part.
    # (CopyObject: the six small files and the sample payload.)
    assert strict_aws.requests["s3:CopyObject"] == len(files) - 1 + 1
    assert strict_aws.requests["s3:UploadPartCopy"] == 2
    assert strict_aws.requests["s3:UploadPart"] == 2

    again = invoke(*args, "--region", ",".join(REGIONS), "--json")
    assert [r["status"] for r in json.loads(again.stdout)] == ["unchanged", "unchanged"]

    for region in REGIONS:
        bucket = TEST_BUCKET.format(region=region)
        prefix = f"mimsreg/artifacts/sha256/{digest}/files/"
        sagemaker = boto3.client("sagemaker", region_name=region)
        [summary] = sagemaker.list_model_packages(ModelPackageGroupName=results[0]["group"])[
            "ModelPackageSummaryList"
        ]
        package = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        [container] = package["InferenceSpecification"]["Containers"]
        assert "ModelDataUrl" not in container
        assert container["ModelDataSource"] == {
            "S3DataSource": {
                "S3Uri": f"s3://{bucket}/{prefix}",
                "S3DataType": "S3Prefix",
                "CompressionType": "None",
            }
        }
        s3 = boto3.client("s3", region_name=region)
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
        assert sorted(o["Key"][len(prefix) :] for o in listed) == [
            p.relative_to(folder).as_posix() for p in files
        ]
        for path in files:
            key = prefix + path.relative_to(folder).as_posix()
            body = s3.get_object(Bucket=bucket, Key=key)
            assert body["Body"].read() == path.read_bytes()
            assert body["Metadata"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        manifest = s3.get_object(
            Bucket=bucket, Key=f"mimsreg/artifacts/sha256/{digest}/manifest.json"
        )
        assert hashlib.sha256(manifest["Body"].read()).hexdigest() == digest

        shown = invoke(
            "show", f"{results[0]['group']}/1", "--inventory", "sagemaker", "--region", region
        )
        assert shown.exit_code == 0, shown.output
        assert "folder model, 7 files, uncompressed" in shown.stdout
        assert f"s3://{bucket}/{prefix}" in shown.stdout

    swept = invoke(
        "gc",
        "--inventory",
        "sagemaker",
        "--region",
        ",".join(REGIONS),
        "--older-than",
        "0s",
        "--json",
    )
    assert swept.exit_code == 0, swept.output
    assert [g for g in json.loads(swept.stdout) if "/artifacts/" in g["location"]] == []
