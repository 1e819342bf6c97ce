"""``mimsreg.engine.aws_compat`` here: clients whose service model lacks a member still send it.

The old models are the installed ones with the members removed (botocore reads models from
``AWS_DATA_PATH`` first), so the same code paths run here, in process and measured, as on the
processing image's botocore 1.31.57 (``tests/pipeline/test_job_image.py`` runs them there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from mimsreg.engine.aws_compat import adapt_client, missing_members, unsupported_members
from tests.conftest import TEST_BUCKET

BUCKET = TEST_BUCKET.format(region="us-east-1")
REMOVED = {
    ("s3", "2006-03-01"): {
        "PutObjectRequest": ("IfNoneMatch", "IfMatch"),
        "DeleteObjectRequest": ("IfMatch",),
        "CompleteMultipartUploadRequest": ("IfNoneMatch", "IfMatch"),
    },
    ("sagemaker", "2017-07-24"): {
        "CreateModelPackageInput": ("SecurityConfig",),
        "ModelPackageContainerDefinition": ("ModelDataSource",),
    },
}


@pytest.fixture
def old_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """AWS_DATA_PATH holding S3 and SageMaker models without the members botocore 1.31 lacks."""
    import botocore.loaders

    loader = botocore.loaders.Loader()
    for (service, version), shapes in REMOVED.items():
        model = loader.load_service_model(service, "service-2", version)
        for shape, members in shapes.items():
            for member in members:
                del model["shapes"][shape]["members"][member]
        folder = tmp_path / "models" / service / version
        folder.mkdir(parents=True)
        (folder / "service-2.json").write_text(json.dumps(model), encoding="utf-8")
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "models"))
    return tmp_path / "models"


def client(service: str) -> Any:
    import boto3

    return boto3.session.Session().client(service, region_name="us-east-1")


def sent_requests(client_: Any) -> list[Any]:
    """Every request the client sends, as botocore prepared it (headers and body)."""
    seen: list[Any] = []
    client_.meta.events.register("before-send", lambda request, **_: seen.append(request))
    return seen


def test_old_model_refuses_the_member_by_itself(aws: str, old_models: Path) -> None:
    """The control: without the adapter, such a botocore refuses the member before sending."""
    s3 = client("s3")
    assert missing_members(s3, "PutObject", ("IfNoneMatch", "Body")) == ("IfNoneMatch",)
    with pytest.raises(ParamValidationError, match='Unknown parameter in input: "IfNoneMatch"'):
        s3.put_object(Bucket=BUCKET, Key="k", Body=b"x", IfNoneMatch="*")


def test_conditional_writes_go_out_as_headers(aws: str, old_models: Path) -> None:
    """``IfNoneMatch``/``IfMatch`` become the ``If-None-Match``/``If-Match`` headers, S3's answers
    are the same as on a botocore that knows them: created, then 412 PreconditionFailed."""
    s3 = adapt_client(client("s3"))
    seen = sent_requests(s3)
    first = s3.put_object(Bucket=BUCKET, Key="lease", Body=b"1", IfNoneMatch="*")
    assert seen[-1].headers["If-None-Match"] == b"*"
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=BUCKET, Key="lease", Body=b"2", IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    s3.put_object(Bucket=BUCKET, Key="lease", Body=b"3", IfMatch=first["ETag"])
    assert "If-Match" in seen[-1].headers
    body = s3.get_object(Bucket=BUCKET, Key="lease")["Body"].read()
    assert body == b"3"
    s3.put_object(Bucket=BUCKET, Key="plain", Body=b"x")  # no condition: no header
    assert "If-None-Match" not in seen[-1].headers
    assert "If-Match" not in seen[-1].headers


def test_adapting_twice_registers_once(aws: str, old_models: Path) -> None:
    """Idempotent: a client adapted twice sends one header, not two."""
    s3 = adapt_client(adapt_client(client("s3")))
    seen = sent_requests(s3)
    s3.put_object(Bucket=BUCKET, Key="once", Body=b"1", IfNoneMatch="*")
    assert seen[-1].headers["If-None-Match"] == b"*"


def test_security_config_goes_into_the_json_body(aws: str, old_models: Path) -> None:
    """``SecurityConfig`` is written into CreateModelPackage's JSON body as a newer botocore
    writes it, beside the members the old model knows."""
    sagemaker = adapt_client(client("sagemaker"))
    seen = sent_requests(sagemaker)
    sagemaker.create_model_package_group(ModelPackageGroupName="g")
    key = "arn:aws:kms:us-east-1:111111111111:key/k"
    sagemaker.create_model_package(
        ModelPackageGroupName="g", SecurityConfig={"KmsKeyId": key}, ModelApprovalStatus="Approved"
    )
    body = json.loads(seen[-1].body)
    assert body["SecurityConfig"] == {"KmsKeyId": key}
    assert body["ModelApprovalStatus"] == "Approved"
    sagemaker.list_model_packages(ModelPackageGroupName="g")  # other operations untouched
    assert "SecurityConfig" not in json.loads(seen[-1].body)


def test_model_data_source_goes_into_the_json_body(aws: str, old_models: Path) -> None:
    """A nested member the old model lacks (``ModelDataSource`` in a container, botocore
    1.31.57) is sent by writing the whole ``InferenceSpecification`` into the body."""
    plain = client("sagemaker")
    source = {
        "S3DataSource": {
            "S3Uri": f"s3://{BUCKET}/mimsreg/artifacts/sha256/{'a' * 64}/files/",
            "S3DataType": "S3Prefix",
            "CompressionType": "None",
        }
    }
    specification = {
        "Containers": [
            {"Image": "1.dkr.ecr.us-east-1.amazonaws.com/x:1", "ModelDataSource": source}
        ],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["application/json"],
    }
    with pytest.raises(ParamValidationError, match="ModelDataSource"):
        plain.create_model_package(ModelPackageGroupName="g", InferenceSpecification=specification)
    sagemaker = adapt_client(client("sagemaker"))
    seen = sent_requests(sagemaker)
    sagemaker.create_model_package_group(ModelPackageGroupName="g")
    sagemaker.create_model_package(ModelPackageGroupName="g", InferenceSpecification=specification)
    assert json.loads(seen[-1].body)["InferenceSpecification"] == specification


def test_a_current_model_is_left_alone(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A botocore that has the members sends them itself: no handler is registered."""
    s3 = client("s3")
    registered: list[Any] = []
    monkeypatch.setattr(s3.meta.events, "register", lambda *args, **_: registered.append(args))
    assert missing_members(s3, "PutObject", ("IfNoneMatch", "IfMatch")) == ()
    assert missing_members(s3, "NoSuchOperation", ("X",)) == ()
    adapt_client(s3)
    adapt_client(client("sagemaker"))
    assert registered == []


def test_unsupported_members_read_from_the_installed_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's start-up check lists required members the installed models lack."""
    import botocore.loaders
    import botocore.session

    assert unsupported_members() == []
    loader = botocore.loaders.Loader()
    model = loader.load_service_model("sagemaker", "service-2", "2017-07-24")
    del model["shapes"]["CreateModelPackageInput"]["members"]["CustomerMetadataProperties"]
    folder = tmp_path / "sagemaker" / "2017-07-24"
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(model), encoding="utf-8")
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    assert unsupported_members(botocore.session.Session()) == [
        "CreateModelPackage.CustomerMetadataProperties"
    ]
