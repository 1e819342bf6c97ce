"""The pure plan: identities, regions, the metadata record, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mimsreg.engine.plan import RegistrationContext, build_plan, client_token
from mimsreg.errors import PlanError
from tests.support.helpers import (
    fake_image,
    make_plan,
    manifest_for,
    seed_spec,
    write_model_archive,
)


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    return write_model_archive(tmp_path / "model.tar.gz")


def test_one_region_by_default_the_configs(artifact: Path) -> None:
    """Without regions the plan targets the config's region."""
    plan = make_plan(artifact, region="EU")
    assert [r.region for r in plan.regions] == ["eu-west-1"]


def test_region_codes_and_names_are_deduplicated_in_order(artifact: Path) -> None:
    """NA and us-east-1 are one region: registered once, first mention first."""
    plan = make_plan(artifact, ["eu-west-1", "NA", "us-east-1", "FE"])
    assert [r.region for r in plan.regions] == ["eu-west-1", "us-east-1", "us-west-2"]


def test_unknown_region_is_a_plan_error(artifact: Path) -> None:
    with pytest.raises(PlanError, match="'Mars' is not an AWS region name"):
        make_plan(artifact, ["us-east-1", "Mars"])


def test_identity_is_shared_across_regions_and_stable(artifact: Path) -> None:
    """Same artifact + same metadata ⇒ same identity, in every region and every run."""
    first = make_plan(artifact, ["us-east-1", "eu-west-1"])
    second = make_plan(artifact, ["us-east-1", "eu-west-1"])
    assert first.regions[0].identity == first.regions[1].identity
    assert first.to_dict() == second.to_dict()


def test_identity_changes_with_metadata_artifact_and_payload(tmp_path: Path) -> None:
    a = write_model_archive(tmp_path / "a.tar.gz", b"one")
    b = write_model_archive(tmp_path / "b.tar.gz", b"two")
    base = make_plan(a).regions[0].identity
    assert make_plan(b).regions[0].identity != base
    assert make_plan(a, model_owner="someone-else").regions[0].identity != base
    with_payload = build_plan(
        seed_spec(), manifest_for(a), payload_sha256="ab" * 32, image_resolver=fake_image
    )
    assert with_payload.regions[0].identity != base
    assert with_payload.regions[0].payload_key == f"artifacts/sha256/{'ab' * 32}/payload.tar.gz"


def test_context_is_recorded_but_not_identity(artifact: Path) -> None:
    spec, manifest = seed_spec(), manifest_for(artifact)
    one = build_plan(
        spec, manifest, context=RegistrationContext("a", "h1"), image_resolver=fake_image
    )
    two = build_plan(
        spec,
        manifest,
        context=RegistrationContext("b", "h2", pipeline_execution_id="exec-1"),
        image_resolver=fake_image,
    )
    assert one.regions[0].identity == two.regions[0].identity
    assert two.regions[0].record["registered_by"]["pipeline_execution_id"] == "exec-1"


def test_record_carries_what_the_original_sent(artifact: Path) -> None:
    region = make_plan(artifact, ["eu-west-1"]).regions[0]
    record = region.record
    assert record["environment"] == {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_REGION": "eu-west-1",
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
    }
    assert record["image_uri"] == fake_image("xgboost", "1.7-1", "eu-west-1", "ml.m5.large")
    assert record["load_test"] == {
        "expected_tps": 2,
        "max_latency_in_millisecond": 800,
        "max_acceptable_error_rate": 0.2,
        "instance_types": ["ml.m5.large"],
    }
    assert record["variable_schema"]["output"]["variables"][0] == {
        "name": "fraud_score",
        "type": "NUMERIC",
    }
    assert record["registration_region"] == "eu-west-1"
    assert record["source_model_region"] == "us-east-1"
    assert record["approval_status"] == "PendingManualApproval"
    assert record["artifact"]["sha256"] == region.sha256
    assert region.artifact_key == f"artifacts/sha256/{region.sha256}/model.tar.gz"
    json.dumps(record)  # JSON-able


def test_client_token_fits_sagemaker() -> None:
    import re

    token = client_token("f" * 64)
    assert re.fullmatch(r"[a-zA-Z0-9-]{1,36}", token)
    assert len(token) == 36


def test_image_errors_surface_at_plan_time(artifact: Path) -> None:
    def no_image(framework: str, version: str, region: str, instance_type: str) -> str:
        raise PlanError(f"no {framework} {version} image in {region}")

    with pytest.raises(PlanError, match=r"no xgboost 1\.7-1 image in eu-west-1"):
        build_plan(seed_spec(), manifest_for(artifact), ["eu-west-1"], image_resolver=no_image)


KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
US_KEY = f"arn:aws:kms:us-east-1:123456789012:key/{KEY_ID}"
EU_KEY = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"


def test_each_region_record_carries_its_own_kms_key(artifact: Path) -> None:
    """With a mapping, each region's record (what the SageMaker backend encrypts with) holds
    that region's key; a {region} template is filled per region; one plain key serves all."""
    mapped = make_plan(
        artifact, ["us-east-1", "eu-west-1"], kms_key_id={"NA": US_KEY, "EU": EU_KEY}
    )
    assert [r.record["kms_key_id"] for r in mapped.regions] == [US_KEY, EU_KEY]
    template = make_plan(artifact, ["NA", "EU"], kms_key_id="alias/models-{region}")
    assert [r.record["kms_key_id"] for r in template.regions] == [
        "alias/models-us-east-1",
        "alias/models-eu-west-1",
    ]
    plain = make_plan(artifact, ["NA", "EU"], kms_key_id="alias/models")
    assert [r.record["kms_key_id"] for r in plain.regions] == ["alias/models"] * 2
    none = make_plan(artifact, ["NA", "EU"])
    assert [r.record["kms_key_id"] for r in none.regions] == [None, None]


def test_a_mapping_without_a_target_region_is_refused(artifact: Path) -> None:
    """As with a bucket mapping, a target region missing from the key mapping is refused before
    anything is written: never registered there unencrypted."""
    with pytest.raises(PlanError, match=r"kms_key_id: no KMS key for region us-west-2") as exc:
        make_plan(artifact, ["us-east-1", "FE"], kms_key_id={"NA": US_KEY})
    assert "us-east-1" in str(exc.value)


def test_a_plain_key_arn_serves_its_own_region_only(artifact: Path) -> None:
    """One key ARN for all regions: its own region plans, any other region is a PlanError
    naming the field, the key, the region and the fix."""
    assert make_plan(artifact, ["us-east-1"], kms_key_id=US_KEY).regions[0].record["kms_key_id"]
    with pytest.raises(PlanError) as excinfo:
        make_plan(artifact, ["us-east-1", "eu-west-1"], kms_key_id=US_KEY)
    message = str(excinfo.value)
    for part in ("kms_key_id", US_KEY, "is in us-east-1", "in eu-west-1", "mapping region → key"):
        assert part in message


def test_a_template_filled_with_a_fixed_region_is_refused_elsewhere(artifact: Path) -> None:
    """A template whose ARN region is not `{region}` yields a key of another region: refused."""
    key = "arn:aws:kms:us-east-1:123456789012:alias/models-{region}"
    with pytest.raises(PlanError, match="cannot encrypt in eu-west-1"):
        make_plan(artifact, ["eu-west-1"], kms_key_id=key)


def test_each_regions_create_request_encrypts_with_its_key(artifact: Path) -> None:
    """The SageMaker backend reads the key from the region's record: each region's
    CreateModelPackage carries that region's key in SecurityConfig."""
    from mimsreg.engine.inventory import open_inventory  # makes no client until a region needs one

    plan = make_plan(artifact, ["NA", "EU"], kms_key_id={"NA": US_KEY, "EU": EU_KEY})
    with open_inventory("sagemaker", regions=["us-east-1"]) as inventory:
        create_request = inventory.create_request  # type: ignore[attr-defined]
        requests = [create_request(r, "s3://b/m", "s3://b/s", "s3://b/r") for r in plan.regions]
    assert [r["SecurityConfig"] for r in requests] == [{"KmsKeyId": US_KEY}, {"KmsKeyId": EU_KEY}]


def test_a_template_arn_in_the_wrong_partition_is_refused(artifact: Path) -> None:
    """arn:aws: filled in for a China region is not a key there: refused naming the partition."""
    key = "arn:aws:kms:{region}:123456789012:alias/models"
    assert make_plan(artifact, ["us-east-1"], kms_key_id=key).regions[0].record["kms_key_id"]
    with pytest.raises(PlanError, match="names partition 'aws'; region cn-north-1 is in 'aws-cn'"):
        make_plan(artifact, ["cn-north-1"], kms_key_id=key, bucket="b-{region}")
