"""Artifacts in S3: the bytes stored are the bytes hashed, verified at every destination.

The file is hashed in one pass that gives the whole file's SHA-256 (in order) and each part's;
each part is sent with the digest it was hashed with, read again from the file as it is sent (a
part is never held in memory whole), so S3 refuses a part whose bytes differ from those hashed
(BadDigest); the upload is completed only when the whole digest is the inspected one, and
aborted otherwise, so nothing is stored under a digest its bytes do not have. Below the
multipart threshold the file is read once into one PutObject with its SHA-256. The other regions
copy the verified object server side.

Every object written, copied or found in place is verified by S3's SHA-256 checksum before a
version may point at it: the object's digest when it was written whole; when written in parts
(S3 has no whole-object SHA-256 for those), the SHA-256 of its parts' digests, which this process
knows from its upload or reads off the local file's parts. An object that does not verify is
never reused (it is written again), and one this process wrote or copied is removed.

A model folder is staged as a prefix (``plan.folder_prefix``): each file the same way as an
archive (uploaded by the first region, multipart when large, copied server side by the others,
verified everywhere), ``FOLDER_TRANSFERS`` files at once, then its manifest document beside it.

A region that waits for another region's upload runs ``while_waiting`` meanwhile (the caller
writes its documents); copies under the multipart threshold are one CopyObject.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from mimsreg.engine.errors import InventoryError
from mimsreg.engine.inventory.base import Progress
from mimsreg.engine.inventory.sagemaker._base import (
    KEY_PREFIX,
    MAX_PARTS,
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


def part_size(size: int) -> int:
    """The part size of an object of ``size`` bytes written in parts: 16 MiB, doubled until it
    takes at most 10,000 parts (s3transfer's rule, so that uploads and managed copies cut the
    same parts and their checksums agree)."""
    chunk = MULTIPART_CHUNK
    while -(-size // chunk) > MAX_PARTS:
        chunk *= 2
    return chunk


def composite_checksum(part_digests: Sequence[bytes]) -> str:
    """S3's SHA-256 checksum of an object written in parts: the SHA-256 of the parts' digests,
    base64, then ``-<parts>``."""
    digest = hashlib.sha256(b"".join(part_digests)).digest()
    return f"{base64.b64encode(digest).decode('ascii')}-{len(part_digests)}"


def same_checksum(reported: str, expected: str) -> bool:
    """S3's ``ChecksumSHA256`` against the one expected; moto leaves out the ``-<parts>`` of a
    composite checksum that AWS gives."""
    base, _, parts = expected.partition("-")  # base64 has no "-"
    return reported == expected or (bool(parts) and reported == base)


_HASH_BLOCK = 1024 * 1024  # read while hashing: a part is never held whole, whatever its size


def _hash_parts(reader: BinaryIO, whole: Any, chunk: int, size: int) -> Iterator[tuple[int, bytes]]:
    """(length, SHA-256) of each part of ``chunk`` bytes, ``whole`` updated with every byte; read
    in 1 MiB blocks, and at most one byte past ``size`` (enough to tell that the file grew, not
    enough to read a file that grew without end)."""
    left = size + 1
    while left > 0:
        part, length = hashlib.sha256(), 0
        while length < chunk and left > 0:
            block = reader.read(min(_HASH_BLOCK, chunk - length, left))
            if not block:
                break
            part.update(block)
            whole.update(block)
            length += len(block)
            left -= len(block)
        if not length:
            return
        yield length, part.digest()
        if length < chunk:
            return


def _changed(artifact: Path, plan: RegionPlan, size: int, digest: str) -> InventoryError | None:
    """The error for a file whose bytes are not the inspected ones; None when they are."""
    if size == plan.size and digest == plan.sha256:
        return None
    return InventoryError(
        f"{str(artifact)!r} changed after it was inspected: sha256 {digest} ({size} bytes read) "
        f"is not the inspected {plan.sha256} ({plan.size} bytes); nothing was stored under its "
        "digest. Re-run to register the file as it is now"
    )


def file_checksum(artifact: Path, plan: RegionPlan) -> str:
    """The composite checksum the file's bytes have in S3 when written in parts, read in one
    pass that also checks them against the inspected digest (InventoryError if they differ)."""
    whole, digests, size = hashlib.sha256(), [], 0
    with artifact.open("rb") as reader:
        for length, digest in _hash_parts(reader, whole, part_size(plan.size), plan.size):
            digests.append(digest)
            size += length
    changed = _changed(artifact, plan, size, whole.hexdigest())
    if changed is not None:
        raise changed
    return composite_checksum(digests)


class _PartReader:
    """Bytes ``[start, start + length)`` of a file, read as botocore sends them (in blocks, and
    again from the start on a retry): a part is never held in memory whole."""

    def __init__(self, path: Path, start: int, length: int) -> None:
        self._file = path.open("rb")
        self._start, self._length, self._position = start, length, 0
        self._file.seek(start)

    def read(self, size: int | None = -1) -> bytes:
        left = self._length - self._position
        count = left if size is None or size < 0 else min(size, left)
        data = self._file.read(count)
        self._position += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._position, self._length)[whence]
        self._position = max(0, min(self._length, base + offset))
        self._file.seek(self._start + self._position)
        return self._position

    def tell(self) -> int:
        return self._position

    def __len__(self) -> int:
        return self._length

    def close(self) -> None:
        self._file.close()


def _send_part(
    s3: S3Client,
    where: tuple[str, str, str],
    part: tuple[Path, int, int, int],
    digest: bytes,
    progress: Progress | None,
    slots: threading.Semaphore,
) -> dict[str, Any]:
    """UploadPart of the file's bytes ``[start, start + length)`` with the SHA-256 they had when
    they were hashed: S3 refuses the part (BadDigest) if a byte read now differs. Sent once one
    of ``slots`` (the backend's parts in flight, across all its uploads) is free."""
    bucket, key, upload_id = where
    path, number, start, length = part
    checksum = base64.b64encode(digest).decode("ascii")
    with slots:
        body = _PartReader(path, start, length)
        try:
            answer = s3.upload_part(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=body,  # type: ignore[arg-type]
                # As in PutObject: the value given is sent, and recorded.
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
            )
        finally:
            body.close()
    if progress is not None:
        progress(length)
    return {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": checksum}


class Artifacts(SageMakerBase):
    """Staging (skip, server-side copy, or upload once) and digest verification."""

    def _head(self, s3: S3Client, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            return dict(s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED"))
        except Exception as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def _expected_checksum(self, plan: RegionPlan, artifact: Path) -> str:
        """S3's SHA-256 checksum of the artifact as mimsreg writes it: its digest when written
        whole; else its parts' composite, known from this process's upload or read off the file."""
        if plan.size < MULTIPART_CHUNK:
            return _b64_sha256(plan.sha256)
        with self._staged:
            known = self._checksums.get(plan.sha256)
        if known is None:
            known = file_checksum(artifact, plan)
            with self._staged:
                self._checksums[plan.sha256] = known
        return known

    @staticmethod
    def _problems(
        head: Mapping[str, Any] | None, plan: RegionPlan, expected: Callable[[], str]
    ) -> list[str]:
        """Why the object is not the artifact: size, recorded digest, S3's SHA-256 checksum
        (``expected`` is asked only when the cheaper facts hold); [] when it is."""
        if head is None:
            return ["the object is missing"]
        problems = []
        if int(head.get("ContentLength", -1)) != plan.size:
            problems.append(f"size {head.get('ContentLength')} is not {plan.size}")
        recorded = (head.get("Metadata") or {}).get("sha256")
        if recorded != plan.sha256:
            problems.append(f"recorded sha256 {recorded!r} is not {plan.sha256}")
        if problems:
            return problems
        reported = head.get("ChecksumSHA256")
        if not reported:
            problems.append("it has no SHA-256 checksum to verify its bytes by")
        elif reported != _b64_sha256(plan.sha256) and not same_checksum(reported, expected()):
            problems.append(f"S3's SHA-256 checksum {reported} is not the artifact's")
        return problems

    def _check_written(
        self, s3: S3Client, bucket: str, key: str, plan: RegionPlan, expected: Callable[[], str]
    ) -> None:
        """Verify what this process just wrote or copied; if it is not the artifact, remove it
        (only that object: If-Match on its ETag) so that nothing claims a digest it lacks."""
        head = self._head(s3, bucket, key)
        problems = self._problems(head, plan, expected)
        if not problems:
            return
        if head is not None:
            with contextlib.suppress(Exception):  # unreachable: the next writer replaces it
                s3.delete_object(Bucket=bucket, Key=key, IfMatch=str(head.get("ETag")))
        raise InventoryError(
            f"{s3_uri(bucket, key)}: digest verification failed: {'; '.join(problems)} "
            "(the object was removed)"
        )

    def _extra_args(self, plan: RegionPlan, spec_kms: str | None) -> dict[str, Any]:
        extra: dict[str, Any] = {"Metadata": {"sha256": plan.sha256}, "ChecksumAlgorithm": "SHA256"}
        if spec_kms:
            extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=spec_kms)
        return extra

    def _transfer_config(self, size: int) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(
            multipart_threshold=MULTIPART_CHUNK,
            multipart_chunksize=part_size(size),
            max_concurrency=self._max_concurrency,
            use_threads=True,
        )

    def _upload(
        self,
        s3: S3Client,
        bucket: str,
        key: str,
        plan: RegionPlan,
        artifact: Path,
        extra: dict[str, Any],
        progress: Progress | None,
    ) -> str:
        """Write the artifact from one read of the file, if that read is the inspected bytes;
        returns the object's expected checksum."""
        if plan.size >= MULTIPART_CHUNK:
            return self._upload_parts(s3, (bucket, key), plan, artifact, extra, progress)
        with artifact.open("rb") as reader:
            data = reader.read(plan.size + 1)
        changed = _changed(artifact, plan, len(data), hashlib.sha256(data).hexdigest())
        if changed is not None:
            raise changed
        checksum = _b64_sha256(plan.sha256)  # S3 refuses the body (BadDigest) if it differs
        # With ChecksumAlgorithm too (in ``extra``): botocore sends the value given rather than
        # computing one, and moto records a checksum only when the algorithm is named.
        s3.put_object(Bucket=bucket, Key=key, Body=data, ChecksumSHA256=checksum, **extra)
        if progress is not None:
            progress(len(data))
        return checksum

    def _upload_parts(
        self,
        s3: S3Client,
        destination: tuple[str, str],
        plan: RegionPlan,
        artifact: Path,
        extra: dict[str, Any],
        progress: Progress | None,
    ) -> str:
        """A multipart upload of the bytes hashed, completed only if they are the inspected
        ones; aborted otherwise (and on any error), so nothing is stored under a wrong digest."""
        bucket, key = destination
        created = s3.create_multipart_upload(Bucket=bucket, Key=key, **extra)
        where = (bucket, key, str(created["UploadId"]))
        try:
            parts, digests = self._send_parts(s3, where, plan, artifact, progress)
            s3.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=where[2],
                MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
            )
        except BaseException as exc:
            with contextlib.suppress(Exception):  # else `mimsreg gc` aborts it
                s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=where[2])
            if _error_code(exc) == "BadDigest":  # a part read for the upload differed
                raise InventoryError(
                    f"{str(artifact)!r} changed after it was inspected: a part read for the "
                    "upload was not the part hashed (S3 refused it); nothing was stored under "
                    "its digest. Re-run to register the file as it is now"
                ) from exc
            raise
        checksum = composite_checksum(digests)
        with self._staged:
            self._checksums[plan.sha256] = checksum
        return checksum

    def _send_parts(
        self,
        s3: S3Client,
        where: tuple[str, str, str],
        plan: RegionPlan,
        artifact: Path,
        progress: Progress | None,
    ) -> tuple[list[dict[str, Any]], list[bytes]]:
        """Hash the file in one pass (the whole digest, in order, and each part's), sending each
        part with its digest as soon as it is hashed, from ``max_concurrency`` threads that read
        it again as they send it; the parts, once the whole digest is the inspected one."""
        whole, size, digests = hashlib.sha256(), 0, []
        futures: list[concurrent.futures.Future[dict[str, Any]]] = []
        failed = threading.Event()
        pool = concurrent.futures.ThreadPoolExecutor(self._max_concurrency, "mimsreg-part")
        try:
            with artifact.open("rb") as reader:
                for number, (length, digest) in enumerate(
                    _hash_parts(reader, whole, part_size(plan.size), plan.size), start=1
                ):
                    digests.append(digest)
                    part = (artifact, number, size, length)
                    size += length
                    futures.append(
                        pool.submit(
                            _send_part, s3, where, part, digests[-1], progress, self._part_slots
                        )
                    )
                    futures[-1].add_done_callback(
                        lambda f: failed.set() if not f.cancelled() and f.exception() else None
                    )
                    if failed.is_set():
                        break  # a part failed: stop reading, its error is raised below
            changed = _changed(artifact, plan, size, whole.hexdigest())
            if changed is not None and not failed.is_set():
                raise changed
            parts = [future.result() for future in futures]  # a failed part's error first
            if changed is not None:
                raise changed
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return parts, digests

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
        where = s3_uri(bucket, key)
        s3 = self._s3(region)
        # Regions share an upload by content and key: two files of a folder may hold the same
        # bytes under two keys, and a copy reads the key it writes.
        token = plan.sha256 if plan.artifact_key.endswith(".tar.gz") else f"{plan.sha256}:{key}"

        def expected() -> str:
            return self._expected_checksum(plan, artifact)

        head = self._head(s3, bucket, key)
        if head is not None and not self._problems(head, plan, expected):
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
                checksum = self._upload(s3, bucket, key, plan, artifact, extra, progress)
                self._check_written(s3, bucket, key, plan, lambda: checksum)
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
        self._copy(s3, source, (bucket, key), plan, extra, progress)
        self._check_written(s3, bucket, key, plan, expected)
        return where

    def _copy(
        self,
        s3: S3Client,
        source: tuple[str, str],
        destination: tuple[str, str],
        plan: RegionPlan,
        extra: dict[str, Any],
        progress: Progress | None,
    ) -> None:
        """Server side, from the region holding a verified copy; S3 computes the destination's
        checksum from the bytes it copies (in the same parts as an upload)."""
        (source_region, source_bucket), (bucket, key) = source, destination
        extra = {**extra, "MetadataDirective": "REPLACE"}
        if plan.size < MULTIPART_CHUNK:
            # What the managed copy does below its multipart threshold, minus the HeadObject it
            # sends first to learn the size we already know: one round trip fewer per region.
            s3.copy_object(
                CopySource={"Bucket": source_bucket, "Key": key}, Bucket=bucket, Key=key, **extra
            )
            if progress is not None:
                progress(plan.size)
            return
        s3.copy(
            {"Bucket": source_bucket, "Key": key},
            bucket,
            key,
            ExtraArgs=extra,
            SourceClient=self._s3(source_region),
            Config=self._transfer_config(plan.size),
            Callback=progress,
        )

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
        sized = replace(plan, size=len(document))
        checksum = _b64_sha256(plan.sha256)
        head = self._head(s3, bucket, key)
        if head is not None and not self._problems(head, sized, lambda: checksum):
            return
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=document,
            ChecksumSHA256=checksum,
            ContentType="application/json",
            **self._extra_args(plan, kms_key_id),
        )
        self._check_written(s3, bucket, key, sized, lambda: checksum)

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
