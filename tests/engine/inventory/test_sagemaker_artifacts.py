"""The bytes stored are the bytes hashed: archives that change after inspection, objects under a
content key that hold other bytes, against the moto server behind the strict AWS layer."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig

from mimsreg.engine.execute import CREATED, FAILED, execute_plan
from mimsreg.engine.inventory.sagemaker import MULTIPART_CHUNK, SageMakerInventory
from mimsreg.engine.inventory.sagemaker.artifacts import (
    composite_checksum,
    part_size,
    same_checksum,
)
from mimsreg.engine.plan import RegistrationPlan
from tests.conftest import TEST_BUCKET
from tests.support.aws import counted_clients
from tests.support.helpers import make_plan

pytestmark = pytest.mark.usefixtures("aws")

MIB = 1024 * 1024
REGION = "us-east-1"
BUCKET = TEST_BUCKET.format(region=REGION)


def s3(region: str = REGION) -> Any:
    return boto3.client("s3", region_name=region)


def object_digest(region: str, key: str) -> str | None:
    try:
        body = s3(region).get_object(Bucket=TEST_BUCKET.format(region=region), Key=key)["Body"]
    except s3(region).exceptions.NoSuchKey:
        return None
    return hashlib.sha256(body.read()).hexdigest()


def artifact_key(plan: RegistrationPlan) -> str:
    return "mimsreg/" + plan.regions[0].artifact_key


def versions(region: str, group: str) -> list[dict[str, Any]]:
    sagemaker = boto3.client("sagemaker", region_name=region)
    try:
        listed = sagemaker.list_model_packages(ModelPackageGroupName=group)
    except sagemaker.exceptions.ClientError:
        return []
    return list(listed["ModelPackageSummaryList"])


def flip_byte(path: Path, offset: int) -> None:
    """Change one byte in place: same size, same mtime resolution, other content."""
    with path.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


@pytest.mark.parametrize(
    ("size", "offset"),
    [(40 * MIB, 20 * MIB + 5), (1 * MIB, 12345)],
    ids=["multipart", "single-part"],
)
def test_an_archive_changed_after_inspection_is_not_registered_nor_stored(
    tmp_path: Path, size: int, offset: int
) -> None:
    """The digest was taken, then the file changed: no version, no object under the digest, no
    incomplete upload; the error names the file and both digests."""
    artifact = tmp_path / "model.tar.gz"
    artifact.write_bytes(os.urandom(size))
    plan = make_plan(artifact, [REGION, "eu-west-1"])
    flip_byte(artifact, offset)
    changed = hashlib.sha256(artifact.read_bytes()).hexdigest()
    results = execute_plan(plan, SageMakerInventory(), artifact)
    assert [r.status for r in results] == [FAILED, FAILED]
    for result in results:
        assert str(artifact) in str(result.error)
        assert "changed" in str(result.error)
        assert plan.manifest.sha256 in str(result.error)
        assert changed in str(result.error)
    for region in (REGION, "eu-west-1"):
        assert object_digest(region, artifact_key(plan)) is None
        bucket = TEST_BUCKET.format(region=region)
        assert s3(region).list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
        assert versions(region, plan.regions[0].group) == []


def place_other_bytes(key: str, size: int, claimed: str) -> None:
    """An object under ``key`` claiming ``claimed`` as its digest, holding other bytes of the
    same size, written in 16 MiB parts with SHA-256 part checksums: what an archive changed
    during an earlier registration left before this fix."""
    parts = TransferConfig(multipart_threshold=MULTIPART_CHUNK, multipart_chunksize=MULTIPART_CHUNK)
    s3().upload_fileobj(
        io.BytesIO(os.urandom(size)),
        BUCKET,
        key,
        ExtraArgs={"Metadata": {"sha256": claimed}, "ChecksumAlgorithm": "SHA256"},
        Config=parts,
    )


def test_a_multipart_object_holding_other_bytes_is_rewritten_not_reused(tmp_path: Path) -> None:
    """Same size, the right digest in its metadata, a composite checksum of other bytes: it is
    not the artifact, so it is written again and the version points at the real bytes."""
    artifact = tmp_path / "model.tar.gz"
    artifact.write_bytes(os.urandom(40 * MIB))
    plan = make_plan(artifact, [REGION])
    place_other_bytes(artifact_key(plan), 40 * MIB, plan.manifest.sha256)
    assert object_digest(REGION, artifact_key(plan)) != plan.manifest.sha256
    calls: Counter[str] = Counter()
    [result] = execute_plan(plan, SageMakerInventory(clients=counted_clients(calls)), artifact)
    assert result.status == CREATED
    assert calls[f"{REGION}:UploadPart"] == 3  # written again
    assert object_digest(REGION, artifact_key(plan)) == plan.manifest.sha256


def test_a_verified_multipart_object_is_reused_without_an_upload(tmp_path: Path) -> None:
    """The same artifact under another description: found in place, its composite checksum
    matches the file's parts, nothing is uploaded."""
    artifact = tmp_path / "model.tar.gz"
    artifact.write_bytes(os.urandom(40 * MIB))
    first = make_plan(artifact, [REGION])
    execute_plan(first, SageMakerInventory(), artifact)
    second = make_plan(artifact, [REGION], model_package_description="another description")
    calls: Counter[str] = Counter()
    [result] = execute_plan(second, SageMakerInventory(clients=counted_clients(calls)), artifact)
    assert result.status == CREATED
    assert calls[f"{REGION}:UploadPart"] == 0
    assert calls[f"{REGION}:CreateMultipartUpload"] == 0
    assert object_digest(REGION, artifact_key(second)) == second.manifest.sha256


def test_checksums_of_objects_written_in_parts() -> None:
    """The composite is the SHA-256 of the parts' digests with '-<parts>'; AWS's form must match
    exactly, moto's (no suffix) by its digest; another part count or digest never matches."""
    digests = [hashlib.sha256(data).digest() for data in (b"a", b"b")]
    expected = composite_checksum(digests)
    base = expected.rsplit("-", 1)[0]
    assert expected.endswith("-2")
    assert base == base64.b64encode(hashlib.sha256(b"".join(digests)).digest()).decode()
    assert same_checksum(expected, expected)
    assert same_checksum(base, expected)  # moto
    assert not same_checksum(f"{base}-3", expected)
    assert not same_checksum(composite_checksum(digests[:1]), expected)
    whole = base64.b64encode(hashlib.sha256(b"ab").digest()).decode()
    assert same_checksum(whole, whole)
    assert not same_checksum(whole.rstrip("=") + "-1", whole)


def test_parts_stay_within_s3s_limit_as_s3transfer_cuts_them() -> None:
    """16 MiB parts up to 10,000 of them, then doubled (s3transfer's rule, so that copies cut
    the same parts)."""
    from s3transfer.utils import ChunksizeAdjuster

    for size in (
        MULTIPART_CHUNK,
        10_000 * MULTIPART_CHUNK,
        10_000 * MULTIPART_CHUNK + 1,
        3 * 10**12,
    ):
        chunk = part_size(size)
        assert -(-size // chunk) <= 10_000
        assert chunk == ChunksizeAdjuster().adjust_chunksize(MULTIPART_CHUNK, size)
    assert part_size(10_000 * MULTIPART_CHUNK + 1) == 2 * MULTIPART_CHUNK


def test_a_part_changed_between_its_hashing_and_its_sending_is_refused(tmp_path: Path) -> None:
    """The hashing pass saw the inspected bytes; then, as the first part is about to be sent, a
    byte of it changes: S3 refuses the part (its bytes are not those hashed), the upload is
    aborted and the error names the file; nothing is stored, no version is made."""
    artifact = tmp_path / "model.tar.gz"
    artifact.write_bytes(os.urandom(40 * MIB))
    plan = make_plan(artifact, [REGION])
    calls: Counter[str] = Counter()
    clients = counted_clients(calls)
    flipped: list[int] = []

    def change_first_part(params: dict[str, Any], **_: Any) -> None:
        if params.get("PartNumber") == 1 and not flipped:
            flip_byte(artifact, 1000)
            flipped.append(1)

    clients[REGION].s3.meta.events.register(
        "before-parameter-build.s3.UploadPart", change_first_part
    )
    [result] = execute_plan(plan, SageMakerInventory(clients=clients), artifact)
    assert flipped == [1]
    assert result.status == FAILED
    assert f"{str(artifact)!r} changed after it was inspected" in str(result.error)
    assert "S3 refused it" in str(result.error)
    assert object_digest(REGION, artifact_key(plan)) is None
    assert s3().list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert versions(REGION, plan.regions[0].group) == []
