"""End to end: render the pipeline, upload its files, run each step's job on Python 3.9 (moto).

The job's command, arguments, environment and inputs come from the rendered definition; the
inputs are downloaded from (moto's) S3 the way SageMaker would, the command runs with a Python 3.9
interpreter that has nothing but boto3, and the model versions it creates are read back with
boto3 from SageMaker Model Registry in each region.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.conftest import ROLE, seed_config
from tests.pipeline.jobsim import JobRun, execution_arn, run_step
from tests.support.helpers import write_model_archive

REGIONS = ("us-east-1", "eu-west-1")
PACKAGED = "s3://mimsreg-test-us-east-1/packaging/execution-1/packaged_model/"
PAYLOAD = "s3://mimsreg-test-us-east-1/payload/execution-1/"


def render_pipeline(
    tmp_path: Path, config: Any = None, weights: bytes = b"xgboost"
) -> tuple[Any, dict[str, Any]]:
    """The packaged model and a payload in S3, a two-region pipeline, its files uploaded."""
    import boto3

    from mimsreg.engine.payload import generate_payload_archive
    from mimsreg.pipeline import ModelRegistrationStepBuilder

    config = config if config is not None else seed_config()
    archive = write_model_archive(tmp_path / "build" / "model.tar.gz", weights=weights)
    payload = generate_payload_archive(config.to_spec(), tmp_path / "build")
    s3 = boto3.client("s3", region_name="us-east-1")
    for source, folder in ((archive, PACKAGED), (payload.path, PAYLOAD)):
        key = folder[len("s3://mimsreg-test-us-east-1/") :] + Path(source).name
        s3.upload_file(str(source), "mimsreg-test-us-east-1", key)
    builder = ModelRegistrationStepBuilder(config, role=ROLE)
    model = builder.string_parameter("PackagedModelUri", PACKAGED)
    steps = builder.create_step(model, regions=list(REGIONS), payload=PAYLOAD)
    definition = json.loads(builder.pipeline("mimsreg-e2e", steps, [model]).definition())
    uploads = builder.upload_runtime()
    assert [u.status for u in uploads] == ["uploaded", "uploaded"]
    return builder, definition


@pytest.fixture
def rendered(moto: str, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    return render_pipeline(tmp_path)


def run_job(
    definition: dict[str, Any], region: str, root: Path, python: str, moto_url: str
) -> JobRun:
    import boto3

    environment = {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",  # SageMaker sets the job's (the pipeline's) region
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return run_step(
        definition,
        f"MimsModelRegistration-{region}",
        root,
        python,
        boto3.client("s3", region_name="us-east-1"),
        "execution-0001",
        environment,
    )


def boto3_version(python: str) -> str:
    code = "import boto3; print(boto3.__version__)"
    return subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()


def packages(region: str, group: str) -> list[dict[str, Any]]:
    import boto3

    client = boto3.client("sagemaker", region_name=region)
    summaries = client.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    return [client.describe_model_package(ModelPackageName=s["ModelPackageArn"]) for s in summaries]


@pytest.mark.slow
def test_each_step_registers_in_its_region_on_python_39(
    rendered: tuple[Any, dict[str, Any]],
    python39_boto3: str,
    moto: str,
    tmp_path: Path,
) -> None:
    """Both jobs exit 0, print one JSON result each, and create one version in their region,
    with the artifact in that region's bucket; running them again changes nothing."""
    builder, definition = rendered
    group = builder.spec.model_package_group_name
    for attempt, expected in enumerate(["created", "unchanged"]):
        for region in REGIONS:
            job = run_job(
                definition, region, tmp_path / f"job-{region}-{attempt}", python39_boto3, moto
            )
            assert job.process.returncode == 0, job.process.stderr
            banner = job.process.stderr.splitlines()[0]
            assert banner.startswith("mimsreg-runtime "), banner
            assert "Python 3.9." in banner
            assert f"boto3 {boto3_version(python39_boto3)}," in banner
            result = json.loads(job.process.stdout.strip().splitlines()[-1])
            assert (result["region"], result["status"], result["version"]) == (region, expected, 1)
            document = json.loads(
                job.local("/opt/ml/processing/output/results/results.json").read_text()
            )
            assert document["pipeline_execution_id"] == "execution-0001"
            assert document["results"] == [result]
    for region in REGIONS:
        (package,) = packages(region, group)
        container = package["InferenceSpecification"]["Containers"][0]
        assert container["ModelDataUrl"].startswith(f"s3://mimsreg-test-{region}/")
        assert f".dkr.ecr.{region}." in container["Image"]
        assert container["Environment"]["SAGEMAKER_REGION"] == region
        assert package["SamplePayloadUrl"].startswith(f"s3://mimsreg-test-{region}/")
        generated_by = package["MetadataProperties"]["GeneratedBy"]
        assert generated_by == execution_arn("execution-0001")


@pytest.mark.slow
def test_job_refuses_a_spec_that_is_not_the_pipelines(
    rendered: tuple[Any, dict[str, Any]], python39_boto3: str, moto: str, tmp_path: Path
) -> None:
    """A spec document replaced in S3 after rendering: exit 2, nothing registered."""
    import boto3

    builder, definition = rendered
    bucket, _, key = builder.spec_uri[len("s3://") :].partition("/")
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=bucket, Key=key, Body=builder.spec_document.replace(b"my-team-id", b"other-team")
    )
    job = run_job(definition, "us-east-1", tmp_path / "job", python39_boto3, moto)
    assert job.process.returncode == 2
    assert "sha256" in job.process.stderr
    client = boto3.client("sagemaker", region_name="us-east-1")
    assert client.list_model_package_groups()["ModelPackageGroupSummaryList"] == []


@pytest.mark.slow
def test_two_jobs_at_once_make_one_version(
    rendered: tuple[Any, dict[str, Any]], python39_boto3: str, moto: str, tmp_path: Path
) -> None:
    """Two executions of the same step at the same time contend for the group's create lock
    (conditional writes, sent as headers on the image's old botocore): one creates the version,
    the other finds it; one version in the group."""
    builder, definition = rendered
    with ThreadPoolExecutor(2) as pool:
        jobs = list(
            pool.map(
                lambda n: run_job(
                    definition, "us-east-1", tmp_path / f"job-{n}", python39_boto3, moto
                ),
                range(2),
            )
        )
    for job in jobs:
        assert job.process.returncode == 0, job.process.stderr
    statuses = sorted(json.loads(j.process.stdout.splitlines()[-1])["status"] for j in jobs)
    assert statuses == ["created", "unchanged"]
    assert len(packages("us-east-1", builder.spec.model_package_group_name)) == 1


@pytest.mark.slow
def test_job_refuses_a_bundle_that_is_not_the_pipelines(
    rendered: tuple[Any, dict[str, Any]], python39_boto3: str, moto: str, tmp_path: Path
) -> None:
    """A runtime bundle replaced in S3 after rendering (other bytes at the content-addressed key):
    the job checks its own digest, exits 2 naming both digests, and registers nothing."""
    import boto3

    from mimsreg.pipeline.bundle import bundle_entries

    builder, definition = rendered
    bucket, _, key = builder.runtime_uri[len("s3://") :].partition("/")
    s3 = boto3.client("s3", region_name="us-east-1")
    # The same modules zipped another way: a bundle that runs, but not the pipeline's.
    import io
    import zipfile

    other = io.BytesIO()
    with zipfile.ZipFile(other, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in bundle_entries():
            archive.writestr(name, data)
    s3.put_object(Bucket=bucket, Key=key, Body=other.getvalue())
    job = run_job(definition, "us-east-1", tmp_path / "job", python39_boto3, moto)
    assert job.process.returncode == 2, job.process.stderr
    assert builder.bundle.sha256 in job.process.stderr
    assert "runtime bundle" in job.process.stderr
    client = boto3.client("sagemaker", region_name="us-east-1")
    assert client.list_model_package_groups()["ModelPackageGroupSummaryList"] == []


@pytest.mark.slow
def test_a_multipart_archive_with_a_kms_key_on_the_jobs_boto3(
    moto: str, python39_boto3: str, tmp_path: Path
) -> None:
    """An archive over the multipart threshold (16 MiB), encrypted with each region's KMS key
    (a multi-Region key's replica per region): uploaded in parts with SHA-256 checksums in the
    first region, copied part by part to the second under that region's key, and registered
    with ``SecurityConfig``, on the image's boto3 as on the newest."""
    import random

    import boto3

    keys = {
        region: f"arn:aws:kms:{region}:111111111111:key/mrk-1234abcd1234abcd1234abcd1234abcd"
        for region in REGIONS
    }
    weights = random.Random(16).randbytes(17 * 1024 * 1024)  # incompressible: stays > 16 MiB
    builder, definition = render_pipeline(tmp_path, seed_config(kms_key_id=keys), weights)
    for region in REGIONS:
        job = run_job(definition, region, tmp_path / f"job-{region}", python39_boto3, moto)
        assert job.process.returncode == 0, job.process.stderr
        assert json.loads(job.process.stdout.splitlines()[-1])["status"] == "created"
    for region in REGIONS:
        (package,) = packages(region, builder.spec.model_package_group_name)
        url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
        bucket, _, object_key = url[len("s3://") :].partition("/")
        head = boto3.client("s3", region_name=region).head_object(Bucket=bucket, Key=object_key)
        assert head["ContentLength"] > 16 * 1024 * 1024
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", keys[region])


@pytest.mark.slow
def test_a_model_folder_prefix_registers_uncompressed_on_python_39(
    moto: str, python39_boto3: str, tmp_path: Path
) -> None:
    """The step's packaged model is an ``s3://`` prefix holding a model folder: the job gets its
    objects, computes the manifest digest ``mimsreg inspect`` gives for the same files, and
    registers the folder in each region with ``ModelDataSource`` (S3Prefix, uncompressed), on
    the image's botocore 1.31.57 (which lacks the member) as on the newest; a rerun is
    unchanged."""
    import boto3

    from mimsreg.engine.package import inspect_package
    from mimsreg.pipeline import ModelRegistrationStepBuilder
    from tests.support.folders import write_model_folder

    folder = write_model_folder(tmp_path / "build" / "model", shards=3)
    prefix = "packaging/execution-1/model_folder/"
    s3 = boto3.client("s3", region_name="us-east-1")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = prefix + path.relative_to(folder).as_posix()
        s3.upload_file(str(path), "mimsreg-test-us-east-1", key)
    builder = ModelRegistrationStepBuilder(seed_config(), role=ROLE)
    steps = builder.create_step(f"s3://mimsreg-test-us-east-1/{prefix}", regions=list(REGIONS))
    definition = json.loads(builder.pipeline("mimsreg-e2e", steps).definition())
    builder.upload_runtime()
    digest = inspect_package(folder).sha256
    for expected in ("created", "unchanged"):
        for region in REGIONS:
            job = run_job(
                definition, region, tmp_path / f"{expected}-{region}", python39_boto3, moto
            )
            assert job.process.returncode == 0, job.process.stderr
            result = json.loads(job.process.stdout.strip().splitlines()[-1])
            assert (result["region"], result["status"], result["sha256"]) == (
                region,
                expected,
                digest,
            )
    for region in REGIONS:
        (package,) = packages(region, builder.spec.model_package_group_name)
        (container,) = package["InferenceSpecification"]["Containers"]
        assert "ModelDataUrl" not in container
        assert container["ModelDataSource"]["S3DataSource"] == {
            "S3Uri": f"s3://mimsreg-test-{region}/mimsreg/artifacts/sha256/{digest}/files/",
            "S3DataType": "S3Prefix",
            "CompressionType": "None",
        }
