"""Artifacts in S3: staged once per content (uploaded with per-part SHA-256 checksums that S3
verifies, then copied server side to the other regions), verified at every destination.

A model folder is staged as a prefix (``plan.folder_prefix``): each file the same way as an
archive (uploaded by the first region, multipart when large, copied server side by the others,
verified everywhere), ``FOLDER_TRANSFERS`` files at once, then its manifest document beside it.

A region that waits for another region's upload runs ``while_waiting`` meanwhile (the caller
writes its documents); copies under the multipart threshold are one CopyObject.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mimsreg.engine.errors import InventoryError
from mimsreg.engine.inventory.base import Progress
from mimsreg.engine.inventory.sagemaker._base import (
    KEY_PREFIX,
    MULTIPART_CHUNK,
    SageMakerBase,
    _b64_sha256,
    _error_code,
    s3_uri,
)
from mimsreg.engine.package import ARCHIVE, manifest_document
from mimsreg.engine.plan import RegionPlan, folder_prefix

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

FOLDER_TRANSFERS = 8  # files of a model folder uploaded or copied at once, per region


class Artifacts(SageMakerBase):
    """Staging (skip, server-side copy, or upload once) and digest verification."""

    def _head(self, s3: S3Client, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            return dict(s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED"))
        except Exception as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def _verify(self, head: Mapping[str, Any] | None, sha256: str, size: int, where: str) -> None:
        """The object's size, recorded digest and (single-part) S3 checksum match the artifact."""
        if head is None:
            raise InventoryError(f"{where}: the object is missing after it was written")
        problems = []
        if int(head.get("ContentLength", -1)) != size:
            problems.append(f"size {head.get('ContentLength')} is not {size}")
        recorded = (head.get("Metadata") or {}).get("sha256")
        if recorded != sha256:
            problems.append(f"recorded sha256 {recorded!r} is not {sha256}")
        checksum = head.get("ChecksumSHA256")
        # Objects written in parts carry a composite checksum (S3's hash of the part hashes,
        # each part verified by S3 on arrival); below the multipart threshold the object was
        # written whole and its checksum must equal the artifact's digest.
        whole = size < MULTIPART_CHUNK and "-" not in str(checksum)
        if checksum and whole and checksum != _b64_sha256(sha256):
            problems.append("S3's SHA-256 checksum does not match the artifact")
        if problems:
            raise InventoryError(f"{where}: digest verification failed: {'; '.join(problems)}")

    def _matches(self, head: Mapping[str, Any], plan: RegionPlan, where: str) -> bool:
        """Whether an object already at the content-addressed key is the artifact.

        One that is not (a damaged or foreign object) is written again, then verified.
        """
        try:
            self._verify(head, plan.sha256, plan.size, where)
        except InventoryError:
            return False
        return True

    def _extra_args(self, plan: RegionPlan, spec_kms: str | None) -> dict[str, Any]:
        extra: dict[str, Any] = {"Metadata": {"sha256": plan.sha256}, "ChecksumAlgorithm": "SHA256"}
        if spec_kms:
            extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=spec_kms)
        return extra

    def _transfer_config(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(
            multipart_threshold=MULTIPART_CHUNK,
            multipart_chunksize=MULTIPART_CHUNK,
            max_concurrency=self._max_concurrency,
            use_threads=True,
        )

    def _stage_artifact(
        self,
        plan: RegionPlan,
        artifact: Path,
        kms_key_id: str | None,
        progress: Progress | None,
        while_waiting: Callable[[], object] | None = None,
    ) -> str:
        """Put the artifact in the region's bucket: skip, server-side copy, or upload once.

        ``while_waiting`` runs (once) if this region must wait for another region's upload.
        """
        region, bucket, key = plan.region, self._bucket(plan), KEY_PREFIX + plan.artifact_key
        # Regions share an upload by content and key: two files of a folder may hold the same
        # bytes under two keys, and a copy reads the key it writes.
        token = plan.sha256 if plan.artifact_key.endswith(".tar.gz") else f"{plan.sha256}:{key}"
        where = s3_uri(bucket, key)
        s3 = self._s3(region)
        head = self._head(s3, bucket, key)
        if head is not None and self._matches(head, plan, where):
            with self._staged:
                self._sources.setdefault(token, (region, bucket))
                self._staged.notify_all()
            if progress is not None:
                progress(plan.size)
            return where
        source = self._claim_source(token, while_waiting)
        extra = self._extra_args(plan, kms_key_id)
        if source is None:  # this thread uploads; the others will copy from here
            try:
                s3.upload_file(
                    str(artifact),
                    bucket,
                    key,
                    ExtraArgs=extra,
                    Config=self._transfer_config(),
                    Callback=progress,
                )
                self._verify(self._head(s3, bucket, key), plan.sha256, plan.size, where)
            except BaseException:
                with self._staged:
                    self._uploading.discard(token)
                    self._staged.notify_all()
                raise
            with self._staged:
                self._sources[token] = (region, bucket)
                self._uploading.discard(token)
                self._staged.notify_all()
            return where
        source_region, source_bucket = source
        extra["MetadataDirective"] = "REPLACE"
        if plan.size < MULTIPART_CHUNK:
            # What the managed copy does below its multipart threshold, minus the HeadObject it
            # sends first to learn the size we already know: one round trip fewer per region.
            s3.copy_object(
                CopySource={"Bucket": source_bucket, "Key": key}, Bucket=bucket, Key=key, **extra
            )
            if progress is not None:
                progress(plan.size)
        else:
            s3.copy(
                {"Bucket": source_bucket, "Key": key},
                bucket,
                key,
                ExtraArgs=extra,
                SourceClient=self._s3(source_region),
                Config=self._transfer_config(),
                Callback=progress,
            )
        self._verify(self._head(s3, bucket, key), plan.sha256, plan.size, where)
        return where

    def _stage_folder(
        self, plan: RegionPlan, folder: Path, kms_key_id: str | None, progress: Progress | None
    ) -> str:
        """Stage a model folder as a prefix: every file (in parallel) then the manifest document;
        each object verified. Returns the prefix's URI (ending with '/')."""
        prefix = folder_prefix(plan.sha256)

        def stage(index: int) -> str:
            entry = plan.files[index]
            each = replace(
                plan,
                sha256=entry.sha256,
                size=entry.size,
                artifact_key=prefix + entry.path,
                layout=ARCHIVE,
                files=(),
            )
            return self._stage_artifact(each, folder / entry.path, kms_key_id, progress)

        workers = max(1, min(FOLDER_TRANSFERS, len(plan.files)))
        with concurrent.futures.ThreadPoolExecutor(workers, "mimsreg-stage") as pool:
            list(pool.map(stage, range(len(plan.files))))
        self._put_manifest(plan, kms_key_id)
        return s3_uri(self._bucket(plan), KEY_PREFIX + prefix)

    def _put_manifest(self, plan: RegionPlan, kms_key_id: str | None) -> None:
        """The manifest document beside the prefix (what the files are, by digest; gc and a
        pipeline's prefix read it), written whole with its SHA-256 checksum, then verified."""
        document = manifest_document(plan.files)
        if hashlib.sha256(document).hexdigest() != plan.sha256:
            raise InventoryError(f"{plan.group}: the planned file list is not its manifest")
        bucket, key = self._bucket(plan), KEY_PREFIX + plan.artifact_key
        s3 = self._s3(plan.region)
        where = s3_uri(bucket, key)
        head = self._head(s3, bucket, key)
        sized = replace(plan, size=len(document))
        if head is not None and self._matches(head, sized, where):
            return
        extra = self._extra_args(plan, kms_key_id)
        extra.pop("ChecksumAlgorithm")
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=document,
            ChecksumSHA256=_b64_sha256(plan.sha256),
            ContentType="application/json",
            **extra,
        )
        self._verify(self._head(s3, bucket, key), plan.sha256, len(document), where)

    def _claim_source(
        self, sha256: str, while_waiting: Callable[[], object] | None = None
    ) -> tuple[str, str] | None:
        """A verified copy to copy from, or None when the caller must upload (waits meanwhile).

        Before the first wait, ``while_waiting`` runs outside the lock: the region does work of
        its own while another region's upload is in flight instead of idling.
        """
        with self._staged:
            while True:
                source = self._sources.get(sha256)
                if source is not None:
                    return source
                if sha256 not in self._uploading:
                    self._uploading.add(sha256)
                    return None
                if while_waiting is not None:
                    self._staged.release()
                    try:
                        while_waiting()
                    finally:
                        self._staged.acquire()
                    while_waiting = None
                    continue  # the upload may have finished meanwhile
                self._staged.wait()
