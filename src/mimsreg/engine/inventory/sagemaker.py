"""SageMaker Model Registry inventory: artifacts in S3, model package groups and versions.

Portable (Python 3.9, standard library and boto3): the pipeline step's processing job runs it.

Per target region: the artifact is staged in that region's bucket under a content-addressed key
(uploaded once with per-part SHA-256 checksums that S3 verifies, then copied server side to the
other regions), verified at every destination; the full record and the variable schema are stored
beside it; the group is created unless it exists (a concurrent creator's "already exists" is
success); the version is created with a ``ClientToken`` derived from the identity, after a lookup
of the identity among the group's versions so re-runs never duplicate.

boto3 clients are made from one session (sessions are not thread-safe: under a lock), per region
and service, by the region's thread when it first needs one, or passed in (``clients=``) by tests
and callers that own them.

Latency (see docs/benchmarks.md): regions run in parallel and a region that waits for another
region's upload writes its record and schema meanwhile; copies under the multipart threshold are
one CopyObject; a lookup that listed the group's versions spares ``ensure_group`` its describe.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from mimsreg.engine.aws_compat import adapt_client
from mimsreg.engine.aws_rules import (
    decode_metadata_value,
    encode_metadata_value,
    entity_description,
    enum_values,
    within,
)
from mimsreg.engine.errors import BadInputError, InventoryError, NotFoundError, RegistryWarning
from mimsreg.engine.inventory._aws_errors import maps_aws_errors
from mimsreg.engine.inventory.base import (
    ApprovalEvent,
    CreateOutcome,
    Inventory,
    Progress,
    VersionRecord,
)
from mimsreg.engine.inventory.create_lock import CreateLock
from mimsreg.engine.inventory.gc import (
    Garbage,
    PendingUpload,
    StoredObject,
    in_flight_keys,
    in_flight_records,
    select_garbage,
    select_uploads,
)
from mimsreg.engine.inventory.version_index import VersionIndex
from mimsreg.engine.plan import RegionPlan, RegistrationPlan, client_token

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

__all__ = ["KEY_PREFIX", "RegionClients", "SageMakerInventory", "s3_uri"]

KEY_PREFIX = "mimsreg/"
META = "mimsreg:"  # prefix of our CustomerMetadataProperties keys
MULTIPART_CHUNK = 16 * 1024 * 1024
MAX_CONCURRENCY = 8
DEFAULT_MAX_ATTEMPTS = 8
_UNKNOWN = object()  # a lookup only a listing of the group can answer
GROUP_HINT_SECONDS = 60.0  # how long what a lookup saw of a group may stand in for a describe


@dataclass(frozen=True)
class RegionClients:
    """The two clients one region needs."""

    s3: S3Client
    sagemaker: SageMakerClient


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def _parse_s3_uri(uri: str) -> tuple[str, str]:
    without = uri[len("s3://") :] if uri.startswith("s3://") else uri
    bucket, _, key = without.partition("/")
    return bucket, key


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code") or "")


def _bucket_region(response: Mapping[str, Any]) -> str | None:
    """The region a HeadBucket answer (or error) names: ``BucketRegion`` in newer models, the
    ``x-amz-bucket-region`` header in every botocore."""
    headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    region = response.get("BucketRegion") or headers.get("x-amz-bucket-region")
    return str(region) if region else None


def _error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Message") or exc)


def _is_client_error(exc: BaseException) -> bool:
    return type(exc).__name__ == "ClientError" or hasattr(exc, "response")


# Error codes after which a request may be sent again (botocore's standard retry mode's list).
_TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


def _is_transient(exc: BaseException) -> bool:
    """A throttle, a 5xx or a connection failure: the request may not have been executed."""
    from botocore.exceptions import ConnectionError as BotocoreConnectionError
    from botocore.exceptions import HTTPClientError

    if isinstance(exc, (BotocoreConnectionError, HTTPClientError)):
        return True
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    status = int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
    return _error_code(exc) in _TRANSIENT_CODES or status >= 500


def _timestamp(value: Any) -> str:
    return str(value.isoformat()) if hasattr(value, "isoformat") else str(value or "")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _history_uri(record_uri: Any) -> str | None:
    """Where the approval history of the version whose record is at ``record_uri`` lives."""
    if not isinstance(record_uri, str) or "/records/" not in record_uri:
        return None
    return record_uri.replace("/records/", "/approvals/")


def _b64_sha256(hex_digest: str) -> str:
    return base64.b64encode(binascii.unhexlify(hex_digest)).decode("ascii")


class SageMakerInventory(Inventory):
    """SageMaker Model Registry + S3, one pair of clients per region.

    ``session``: a ``boto3.Session`` (default: a new one honouring profiles, ``AWS_REGION`` and
    ``AWS_ENDPOINT_URL``); ``clients``: ready clients per region, which take precedence;
    ``spec``: where buckets come from when a plan is not at hand (``list``, ``show``);
    ``regions``: regions to look in when a command names none.
    """

    name = "sagemaker"

    def __init__(
        self,
        session: boto3.Session | None = None,
        *,
        clients: Mapping[str, RegionClients] | None = None,
        regions: Sequence[str] | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retry_mode: str = "standard",
        max_concurrency: int = MAX_CONCURRENCY,
    ) -> None:
        self._session = session
        self._clients: dict[str, RegionClients] = dict(clients or {})  # the caller's
        self._made: dict[tuple[str, str], Any] = {}  # (region, service) → client made here
        self._planned: set[str] = set()  # regions of the plans prepared
        self._regions = list(regions or [])
        self._max_attempts = max_attempts
        self._retry_mode = retry_mode
        self._max_concurrency = max_concurrency
        self._lock = threading.Lock()
        self._staged = threading.Condition()
        self._sources: dict[str, tuple[str, str]] = {}  # sha256 → (region, bucket) verified
        self._uploading: set[str] = set()
        # (region, group) → (monotonic time, exists) as the last find_version saw it
        self._group_hints: dict[tuple[str, str], tuple[float, bool]] = {}
        # What the prepared plans say of each region: its bucket and KMS key (the version index
        # lives there), the groups whose index is complete, identities whose creation failed.
        self._buckets: dict[str, str] = {}
        self._kms_keys: dict[str, str | None] = {}
        self._complete: set[tuple[str, str]] = set()
        self._failed: dict[tuple[str, str], str] = {}
        self._hints_lock = threading.Lock()

    # --- clients ------------------------------------------------------------------------------
    def _make_client(self, region: str, service: str, max_attempts: int | None = None) -> Any:
        import boto3
        from botocore.config import Config

        if self._session is None:
            self._session = boto3.Session()
        # Standard/adaptive modes retry throttling and 5xx, never validation errors.
        # ``max_attempts``: retries after the first attempt; ``total_max_attempts=1``: none.
        retries: Any = {"mode": self._retry_mode}
        if max_attempts is None:
            retries["max_attempts"] = self._max_attempts
        else:
            retries["total_max_attempts"] = max_attempts
        config = Config(region_name=region, retries=retries, user_agent_extra="mimsreg")
        client = self._session.client(service, config=config)  # type: ignore[call-overload]
        return adapt_client(client)

    def _client(self, region: str, service: str) -> Any:
        """The region's client for ``service``: the caller's, or made once when first needed.

        Made under a lock (sessions are not thread-safe) in the region's own thread, so while
        one region makes its clients (CPU work: about 10 ms each, more for the first of a
        service, which loads its model) the regions already running wait on the network.
        """
        given = self._clients.get(region)
        if given is not None:
            # The caller's client too may be older than the members mimsreg sends.
            return adapt_client(getattr(given, service))
        with self._lock:
            made = self._made.get((region, service))
            if made is None:
                made = self._made[(region, service)] = self._make_client(region, service)
            return made

    def _s3(self, region: str) -> S3Client:
        return cast("S3Client", self._client(region, "s3"))

    def _sagemaker(self, region: str) -> SageMakerClient:
        return cast("SageMakerClient", self._client(region, "sagemaker"))

    def clients(self, region: str) -> RegionClients:
        """The region's clients, made once (under a lock: sessions are not thread-safe)."""
        given = self._clients.get(region)
        if given is not None:
            return RegionClients(s3=adapt_client(given.s3), sagemaker=adapt_client(given.sagemaker))
        return RegionClients(s3=self._s3(region), sagemaker=self._sagemaker(region))

    def default_regions(self) -> list[str]:
        """Regions to search when none is named: the configured ones, else those in use (given
        clients, the last plan's), else the session's."""
        if self._regions:
            return list(self._regions)
        with self._lock:
            in_use = set(self._clients) | self._planned | {region for region, _ in self._made}
        if in_use:
            return sorted(in_use)
        import boto3

        with self._lock:
            if self._session is None:
                self._session = boto3.Session()
            region = self._session.region_name
        if not region:
            raise BadInputError(
                "no AWS region: name one with --region, or set AWS_REGION / a profile region"
            )
        return [region]

    # --- plan-level hooks ---------------------------------------------------------------------
    @maps_aws_errors
    def prepare(self, plan: RegistrationPlan) -> None:
        """Check every region has a bucket, before any region writes anything.

        Clients are made later, by each region's thread when it first needs one.
        """
        for region in plan.regions:
            plan.spec.require_bucket(region.region)
        with self._lock:
            self._planned.update(r.region for r in plan.regions)
            for region_plan in plan.regions:
                self._buckets[region_plan.region] = self._bucket(region_plan)
                kms = region_plan.record.get("kms_key_id")
                self._kms_keys[region_plan.region] = str(kms) if kms else None
        targets = sorted({(r.region, self._bucket(r)) for r in plan.regions})
        if len(targets) == 1:
            problems = [self._bucket_problem(*targets[0])]
        else:
            with ThreadPoolExecutor(len(targets), thread_name_prefix="mimsreg-bucket") as pool:
                problems = list(pool.map(lambda target: self._bucket_problem(*target), targets))
        found = [problem for problem in problems if problem]
        if found:
            raise BadInputError("\n".join(found))

    def _bucket_problem(self, region: str, bucket: str) -> str | None:
        """Why ``bucket`` cannot hold ``region``'s artifacts (absent, or in another region:
        ``ModelDataUrl`` must be in the package's region), or None. HeadBucket answers with the
        bucket's region, also when botocore followed S3's redirect to it."""
        try:
            response: Mapping[str, Any] = self._s3(region).head_bucket(Bucket=bucket)
        except Exception as exc:
            response = getattr(exc, "response", None) or {}
            if _bucket_region(response) is None:
                if _error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                    return f"bucket: s3://{bucket} (for {region}) does not exist"
                if _error_code(exc) in ("403", "AccessDenied", "Forbidden"):
                    return (
                        f"bucket: s3://{bucket} (for {region}) cannot be reached with these "
                        "credentials (403): check the bucket name and s3:ListBucket on it"
                    )
                raise
        actual = _bucket_region(response)
        if actual is not None and actual != region:
            return (
                f"bucket: s3://{bucket} is in {actual}, not in {region}: a model version must "
                f"keep its artifacts in its own region; give {region} a bucket there (a mapping "
                "region → bucket, or a name with {region})"
            )
        return None

    @staticmethod
    def _bucket(plan: RegionPlan) -> str:
        if plan.bucket is None:
            raise InventoryError(f"{plan.region}: no bucket in the plan (prepare() checks it)")
        return plan.bucket

    # --- artifacts ----------------------------------------------------------------------------
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
        where = s3_uri(bucket, key)
        s3 = self._s3(region)
        head = self._head(s3, bucket, key)
        if head is not None and self._matches(head, plan, where):
            with self._staged:
                self._sources.setdefault(plan.sha256, (region, bucket))
                self._staged.notify_all()
            if progress is not None:
                progress(plan.size)
            return where
        source = self._claim_source(plan.sha256, while_waiting)
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
                    self._uploading.discard(plan.sha256)
                    self._staged.notify_all()
                raise
            with self._staged:
                self._sources[plan.sha256] = (region, bucket)
                self._uploading.discard(plan.sha256)
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

    def _put_json(self, plan: RegionPlan, key: str, data: Any, kms_key_id: str | None) -> str:
        uri = s3_uri(self._bucket(plan), key)
        self._write_json(plan.region, uri, data, kms_key_id)
        return uri

    def _get_json(self, region: str, uri: str) -> Any:
        bucket, key = _parse_s3_uri(uri)
        body = self._s3(region).get_object(Bucket=bucket, Key=key)["Body"].read()
        return json.loads(body)

    # --- groups -------------------------------------------------------------------------------
    def _group_hint(self, region: str, group: str) -> bool | None:
        """Whether a lookup just now saw the group exist (True) or not (False); None: unknown."""
        with self._hints_lock:
            seen = self._group_hints.pop((region, group), None)
        if seen is None or time.monotonic() - seen[0] > GROUP_HINT_SECONDS:
            return None
        return seen[1]

    def _note_group(self, region: str, group: str, exists: bool) -> None:
        with self._hints_lock:
            self._group_hints[(region, group)] = (time.monotonic(), exists)

    @maps_aws_errors
    def ensure_group(self, plan: RegionPlan) -> None:
        sagemaker = self._sagemaker(plan.region)
        # The executor looks the version up first, which already tells whether the group exists:
        # use that rather than a DescribeModelPackageGroup round trip. Only definite answers
        # count (versions listed, or "does not exist"); an empty list says nothing.
        hint = self._group_hint(plan.region, plan.group)
        if hint is True:
            return
        if hint is None:
            try:
                sagemaker.describe_model_package_group(ModelPackageGroupName=plan.group)
                return
            except Exception as exc:
                if not (
                    _error_code(exc) == "ValidationException"
                    and "does not exist" in _error_message(exc)
                ):
                    raise
        description = (
            f"{plan.record.get('model_registration_domain')} / "
            f"{plan.record.get('model_registration_objective')} (mimsreg)"
        )
        tags: list[Any] = [
            {"Key": k, "Value": v} for k, v in sorted((plan.record.get("tags") or {}).items())
        ]
        try:
            sagemaker.create_model_package_group(
                ModelPackageGroupName=plan.group,
                ModelPackageGroupDescription=entity_description(description),
                Tags=[*tags, {"Key": "mimsreg:managed", "Value": "true"}],
            )
        except Exception as exc:
            # Another writer created it between our describe and create: that is success.
            if _error_code(exc) == "ValidationException" and "already exists" in _error_message(
                exc
            ):
                return
            raise

    # --- versions -----------------------------------------------------------------------------
    def _package_arns(self, region: str, group: str, note_group: bool = False) -> list[str]:
        """The group's version ARNs, newest first ([] when the group does not exist).

        ``note_group``: remember whether the group exists when the answer is definite, for the
        ``ensure_group`` that follows a lookup.
        """
        sagemaker = self._sagemaker(region)
        arns: list[str] = []
        kwargs: dict[str, Any] = {
            "ModelPackageGroupName": group,
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": 100,  # the most a page may hold: 10 pages for 1,000 versions, not 100
        }
        while True:
            try:
                page = sagemaker.list_model_packages(**kwargs)
            except Exception as exc:
                if _error_code(exc) == "ValidationException" and "does not exist" in (
                    _error_message(exc)
                ):
                    if note_group:
                        self._note_group(region, group, False)
                    return []
                raise
            arns.extend(item["ModelPackageArn"] for item in page.get("ModelPackageSummaryList", []))
            if note_group and arns:
                self._note_group(region, group, True)
            token = page.get("NextToken")
            if not token:
                return arns
            kwargs["NextToken"] = token

    def _describe(self, region: str, arn: str) -> dict[str, Any]:
        return dict(self._sagemaker(region).describe_model_package(ModelPackageName=arn))

    @maps_aws_errors
    def find_version(self, region: str, group: str, identity: str) -> VersionRecord | None:
        """The version of ``identity`` in the group, or None. Through the group's index when the
        region's bucket is known (O(1): see ``version_index``), else by listing the group. A
        version whose creation failed (``ModelPackageStatus: Failed``) is never the answer."""
        index = self._version_index(region, group)
        if index is not None:
            found = self._find_indexed(region, group, identity, index)
            if found is not _UNKNOWN:
                return cast("VersionRecord | None", found)
        found_by_listing = self._find_by_listing(region, group, identity)
        if index is not None and found_by_listing is not None:
            index.created(identity, found_by_listing.id)  # heal a "creating" or stale entry
        return found_by_listing

    def _version_index(self, region: str, group: str) -> VersionIndex | None:
        bucket = self._buckets.get(region)
        if bucket is None:
            return None
        return VersionIndex(self._s3(region), bucket, group, self._kms_keys.get(region))

    def _find_indexed(
        self, region: str, group: str, identity: str, index: VersionIndex
    ) -> VersionRecord | object | None:
        """What the index says, verified; ``_UNKNOWN`` when only a listing can tell."""
        entry = index.entry(identity)
        if entry is None:
            if (region, group) in self._complete or index.is_complete():
                self._complete.add((region, group))
                self._note_group(region, group, True)
                return None
            return _UNKNOWN
        arn = entry.get("arn")
        if not arn:
            return _UNKNOWN  # "creating": a registration stopped between its create and here
        try:
            package = self._describe(region, str(arn))
        except Exception as exc:
            if _error_code(exc) == "ValidationException":
                return _UNKNOWN  # deleted meanwhile
            raise
        if self._usable(region, identity, package) is None:
            return None if package.get("ModelPackageStatus") == "Failed" else _UNKNOWN
        self._note_group(region, group, True)
        return self._record(region, group, package)

    def _usable(
        self, region: str, identity: str, package: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """``package`` when it is the version of ``identity`` and did not fail to be created."""
        metadata = package.get("CustomerMetadataProperties") or {}
        if decode_metadata_value(str(metadata.get(META + "identity", ""))) != identity:
            return None
        if package.get("ModelPackageStatus") == "Failed":
            with self._hints_lock:  # its ClientToken would return the failed one again
                self._failed[(region, identity)] = str(package.get("ModelPackageArn"))
            return None
        return package

    def _find_by_listing(self, region: str, group: str, identity: str) -> VersionRecord | None:
        for arn in self._package_arns(region, group, note_group=True):
            package = self._describe(region, arn)
            if self._usable(region, identity, package) is not None:
                return self._record(region, group, package)
        return None

    def _index_all(self, region: str, group: str, index: VersionIndex) -> None:
        """Index every version of the group mimsreg made, then mark the index complete."""
        indexed: dict[str, str] = {}
        for arn in self._package_arns(region, group):
            package = self._describe(region, arn)
            metadata = package.get("CustomerMetadataProperties") or {}
            identity = decode_metadata_value(str(metadata.get(META + "identity", "")))
            if identity and package.get("ModelPackageStatus") != "Failed":
                indexed.setdefault(identity, arn)  # newest first: the newest of an identity
        index.mark_complete(indexed)
        self._complete.add((region, group))

    @maps_aws_errors
    def create_version(
        self,
        plan: RegionPlan,
        artifact: Path,
        payload: Path | None = None,
        progress: Progress | None = None,
    ) -> CreateOutcome:
        kms = plan.record.get("kms_key_id")
        documents: list[str] = []

        def write_documents() -> None:
            """The variable schema and the full record, beside the artifact."""
            documents.append(
                self._put_json(
                    plan,
                    f"{KEY_PREFIX}schemas/{plan.identity}.json",
                    plan.record["variable_schema"],
                    kms,
                )
            )
            documents.append(
                self._put_json(plan, f"{KEY_PREFIX}records/{plan.identity}.json", plan.record, kms)
            )

        # A region that must wait for another region's upload writes its documents meanwhile.
        model_data_url = self._stage_artifact(plan, artifact, kms, progress, write_documents)
        payload_url = None
        if payload is not None and plan.payload_key is not None:
            payload_plan = replace(
                plan,
                sha256=str(plan.record.get("payload_sha256")),
                size=payload.stat().st_size,
                artifact_key=plan.payload_key,
                payload_key=None,
            )
            payload_url = self._stage_artifact(payload_plan, payload, kms, None)
        if not documents:
            write_documents()
        schema_uri, record_uri = documents
        request = self._request(plan, model_data_url, schema_uri, record_uri, payload_url)
        # The lookup and the create under the group's lease: a concurrent writer of the same
        # identity waits, then finds this version (see create_lock).
        lock = CreateLock(
            self._s3(plan.region), self._bucket(plan), plan.group, plan.region, kms_key_id=kms
        )
        index = VersionIndex(self._s3(plan.region), self._bucket(plan), plan.group, kms)
        with lock:
            existing = self.find_version(plan.region, plan.group, plan.identity)
            if existing is not None:  # a concurrent writer registered it meanwhile
                return CreateOutcome(existing, False)
            if (plan.region, plan.group) not in self._complete and not index.is_complete():
                self._index_all(plan.region, plan.group, index)
            request["ClientToken"] = self._client_token(plan)
            index.creating(plan.identity, str(request["ClientToken"]))
            actor = str((plan.record.get("registered_by") or {}).get("user") or "unknown")
            first = ApprovalEvent(str(plan.record["approval_status"]), actor, _now(), "registered")
            self._write_json(plan.region, str(_history_uri(record_uri)), [first.to_dict()], kms)
            arn = self._create_package(plan, request, lock)
            index.created(plan.identity, arn)
        package = self._describe(plan.region, arn)
        return CreateOutcome(self._record(plan.region, plan.group, package), True)

    def _create_package(self, plan: RegionPlan, request: dict[str, Any], lock: CreateLock) -> str:
        """CreateModelPackage, retried here rather than by botocore: before each resend the
        identity is looked up, since a create whose answer was lost (a reset connection, a
        timeout) may have happened, and a blind resend would make a second version where
        ``ClientToken`` is not honoured (moto, emulators; AWS dedupes only within its window).
        """
        sagemaker = self._sagemaker_once(plan.region)
        attempt = 0
        while True:
            attempt += 1
            lock.check_held()
            try:
                return str(sagemaker.create_model_package(**request)["ModelPackageArn"])
            except Exception as exc:
                if attempt >= self._max_attempts or not _is_transient(exc):
                    raise
            # Full jitter, as botocore's standard mode: 0..min(20, 2^attempt) * 0.5 s.
            time.sleep(random.uniform(0, min(20.0, 0.5 * 2**attempt)))
            existing = self.find_version(plan.region, plan.group, plan.identity)
            if existing is not None:
                return existing.id

    def _client_token(self, plan: RegionPlan) -> str:
        """The plan's token; after a failed creation of the same identity, a token of its own
        (SageMaker would answer the failed version's token with the failed version)."""
        with self._hints_lock:
            failed = self._failed.get((plan.region, plan.identity))
        if failed is None:
            return plan.client_token
        return client_token(hashlib.sha256(f"{plan.identity}:{failed}".encode()).hexdigest())

    def _sagemaker_once(self, region: str) -> Any:
        """A SageMaker client that sends each request once (botocore retries off); the caller's
        own client when clients were given."""
        given = self._clients.get(region)
        if given is not None:
            return adapt_client(given.sagemaker)
        with self._lock:
            made = self._made.get((region, "sagemaker-once"))
            if made is None:
                made = self._make_client(region, "sagemaker", max_attempts=1)
                self._made[(region, "sagemaker-once")] = made
            return made

    def _request(
        self,
        plan: RegionPlan,
        model_data_url: str,
        schema_uri: str,
        record_uri: str,
        payload_url: str | None,
    ) -> dict[str, Any]:
        """``create_request`` with the region client's instance-type enums."""
        sagemaker = self._sagemaker(plan.region)
        realtime_types = enum_values(sagemaker, "ProductionVariantInstanceType")
        inference = str(plan.record["inference_instance_type"])
        if realtime_types is not None and inference not in realtime_types:
            warnings.warn(
                f"{plan.region}: inference_instance_type {inference!r} is not a real-time "
                "inference instance type SageMaker knows (ProductionVariantInstanceType); it is "
                "left out of SupportedRealtimeInferenceInstanceTypes",
                RegistryWarning,
                stacklevel=2,
            )
        return self.create_request(
            plan,
            model_data_url,
            schema_uri,
            record_uri,
            payload_url,
            transform_types=enum_values(sagemaker, "TransformInstanceType"),
            realtime_types=realtime_types,
        )

    @staticmethod
    def create_request(
        plan: RegionPlan,
        model_data_url: str,
        schema_uri: str,
        record_uri: str,
        payload_url: str | None = None,
        *,
        transform_types: frozenset[str] | None = None,
        realtime_types: frozenset[str] | None = None,
    ) -> dict[str, Any]:
        """The CreateModelPackage request for a region plan (pure; pinned by Stubber tests).

        ``transform_types``/``realtime_types``: the client's ``TransformInstanceType`` and
        ``ProductionVariantInstanceType`` enums; instance types outside them are left out, as
        SageMaker refuses them (see ``mimsreg.engine.aws_rules``).
        """
        record = plan.record
        inference = str(record["inference_instance_type"])
        realtime = within(
            dict.fromkeys([inference, *record["load_test"]["instance_types"]]), realtime_types
        )
        transform = within([inference], transform_types)
        metadata = {
            META + "identity": plan.identity,
            META + "sha256": plan.sha256,
            META + "metadata-hash": str(record["metadata_hash"]),
            META + "owner": str(record["model_owner"]),
            META + "domain": str(record["model_registration_domain"]),
            META + "objective": str(record["model_registration_objective"]),
            META + "schema": schema_uri,
            META + "record": record_uri,
            META + "content-types": ",".join(record["content_types"]),
            META + "response-types": ",".join(record["response_types"]),
            META + "source-region": str(record["source_model_region"]),
        }
        registered_by = record.get("registered_by") or {}
        execution = registered_by.get("pipeline_execution_id")
        generated_by = registered_by.get("pipeline_execution_arn") or execution
        if execution:
            metadata[META + "pipeline-execution"] = str(execution)
        description = record.get("description") or (
            f"{record['model_registration_objective']} model of {record['model_owner']} "
            f"({record['model_registration_domain']}), registered by mimsreg"
        )
        specification: dict[str, Any] = {
            "Containers": [
                {
                    "Image": plan.image_uri,
                    "Environment": dict(plan.environment),
                    "ModelDataUrl": model_data_url,
                    "Framework": str(record["framework"]).upper(),
                    "FrameworkVersion": str(record["framework_version"]),
                }
            ],
            "SupportedContentTypes": list(record["content_types"]),
            "SupportedResponseMIMETypes": list(record["response_types"]),
        }
        if realtime:
            specification["SupportedRealtimeInferenceInstanceTypes"] = realtime
        if transform:
            specification["SupportedTransformInstanceTypes"] = transform
        # No Tags: SageMaker refuses them on versions (the group carries them).
        request: dict[str, Any] = {
            "ModelPackageGroupName": plan.group,
            "ModelPackageDescription": entity_description(str(description)),
            "InferenceSpecification": specification,
            "ModelApprovalStatus": record["approval_status"],
            "CustomerMetadataProperties": {
                k: encode_metadata_value(v) for k, v in metadata.items()
            },
            # The pipeline execution's ARN when a pipeline step registers it (lineage).
            "MetadataProperties": {"GeneratedBy": str(generated_by or "mimsreg")[:1024]},
            "Domain": "MACHINE_LEARNING",
            "ClientToken": plan.client_token,
        }
        if payload_url:
            request["SamplePayloadUrl"] = payload_url
        if record.get("kms_key_id"):
            request["SecurityConfig"] = {"KmsKeyId": record["kms_key_id"]}
        return request

    def _record(self, region: str, group: str, package: Mapping[str, Any]) -> VersionRecord:
        stored = package.get("CustomerMetadataProperties") or {}
        metadata = {key: decode_metadata_value(str(value)) for key, value in stored.items()}
        containers = (package.get("InferenceSpecification") or {}).get("Containers") or [{}]
        created_at = _timestamp(package.get("CreationTime"))
        return VersionRecord(
            region=region,
            group=group,
            version=int(package.get("ModelPackageVersion") or 0),
            id=str(package.get("ModelPackageArn")),
            sha256=str(metadata.get(META + "sha256", "")),
            identity=str(metadata.get(META + "identity", "")),
            approval_status=str(package.get("ModelApprovalStatus") or "PendingManualApproval"),
            created_at=created_at,
            artifact_uri=str(containers[0].get("ModelDataUrl") or ""),
            payload_uri=package.get("SamplePayloadUrl"),
            record={"record_uri": metadata.get(META + "record")},
        )

    @maps_aws_errors
    def get_version(self, region: str, group: str, version: int) -> VersionRecord:
        for arn in self._package_arns(region, group):
            if arn.rsplit("/", 1)[-1] == str(version):
                package = self._describe(region, arn)
                summary = self._record(region, group, package)
                record: dict[str, Any] = {}
                uri = summary.record.get("record_uri")
                if uri:
                    try:
                        record = dict(self._get_json(region, str(uri)))
                    except Exception as exc:  # the registry entry stands on its own
                        record = {"record_unavailable": f"{uri}: {_error_message(exc)}"}
                history = self._stored_history(region, summary.record.get("record_uri"))
                history = history or self._history(package)
                return replace(
                    summary,
                    record={**record, "record_uri": uri} if uri else record,
                    approval_history=history,
                )
        raise NotFoundError(f"{group}/{version} is not in SageMaker Model Registry in {region}")

    def _stored_history(self, region: str, record_uri: Any) -> tuple[ApprovalEvent, ...]:
        """The approval history mimsreg keeps beside the record (SageMaker keeps the last only)."""
        uri = _history_uri(record_uri)
        if uri is None:
            return ()
        try:
            events = self._get_json(region, uri)
        except Exception:  # absent or unreadable: fall back to SageMaker's last decision
            return ()
        return tuple(
            ApprovalEvent(str(e["status"]), str(e["actor"]), str(e["at"]), e.get("note"))
            for e in events
        )

    def _write_json(self, region: str, uri: str, data: Any, kms_key_id: str | None = None) -> None:
        bucket, key = _parse_s3_uri(uri)
        extra: dict[str, Any] = {}
        if kms_key_id:
            extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key_id)
        body = json.dumps(data, indent=2, sort_keys=True).encode("utf-8")
        self._s3(region).put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            ChecksumAlgorithm="SHA256",
            **extra,
        )

    @staticmethod
    def _history(package: Mapping[str, Any]) -> tuple[ApprovalEvent, ...]:
        """SageMaker keeps the latest decision only: who and when, with its description."""
        modified = package.get("LastModifiedTime") or package.get("CreationTime")
        actor = (
            (package.get("LastModifiedBy") or package.get("CreatedBy") or {}).get("UserProfileName")
        ) or "unknown"
        at = _timestamp(modified)
        return (
            ApprovalEvent(
                status=str(package.get("ModelApprovalStatus") or "PendingManualApproval"),
                actor=str(actor),
                at=at,
                note=package.get("ApprovalDescription"),
            ),
        )

    @maps_aws_errors
    def list_versions(
        self, region: str | None = None, group: str | None = None
    ) -> list[VersionRecord]:
        records: list[VersionRecord] = []
        for name in [region] if region else self.default_regions():
            sagemaker = self._sagemaker(name)
            groups = [group] if group else self._group_names(sagemaker)
            for group_name in groups:
                for arn in self._package_arns(name, group_name):
                    records.append(self._record(name, group_name, self._describe(name, arn)))
        return sorted(
            (replace(r, record={}) for r in records), key=lambda r: (r.group, r.region, r.version)
        )

    @staticmethod
    def _group_names(sagemaker: SageMakerClient) -> list[str]:
        names: list[str] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = sagemaker.list_model_package_groups(**kwargs)
            names.extend(g["ModelPackageGroupName"] for g in page["ModelPackageGroupSummaryList"])
            token = page.get("NextToken")
            if not token:
                return names
            kwargs["NextToken"] = token

    @maps_aws_errors
    def set_approval(
        self,
        region: str,
        group: str,
        version: int,
        status: str,
        actor: str,
        note: str | None = None,
    ) -> VersionRecord:
        current = self.get_version(region, group, version)
        # Only the approval fields: AWS leaves every other field of the package as it is.
        description = f"{note} (by {actor})" if note else f"by {actor}"
        self._sagemaker(region).update_model_package(
            ModelPackageArn=current.id,
            ModelApprovalStatus=status,  # type: ignore[arg-type]
            ApprovalDescription=entity_description(description),
        )
        history_uri = _history_uri(current.record.get("record_uri"))
        if history_uri is not None:
            events = [e.to_dict() for e in current.approval_history]
            events.append(ApprovalEvent(status, actor, _now(), note).to_dict())
            kms = current.record.get("kms_key_id")
            self._write_json(region, history_uri, events, str(kms) if kms else None)
        return self.get_version(region, group, version)

    @maps_aws_errors
    def regions_of(self, group: str, version: int) -> list[str]:
        found = []
        for region in self.default_regions():
            if any(a.rsplit("/", 1)[-1] == str(version) for a in self._package_arns(region, group)):
                found.append(region)
        return sorted(found)

    # --- garbage collection --------------------------------------------------------------------
    @maps_aws_errors
    def collect_garbage(
        self,
        older_than: float,
        *,
        regions: Sequence[str] | None = None,
        bucket: str | None = None,
        dry_run: bool = False,
    ) -> list[Garbage]:
        """Per region: objects under ``mimsreg/`` in its bucket that no version of any group in
        the region references (artifacts, payloads, record/schema/approval documents of
        identities without a version), expired ``mimsreg/locks/`` objects, and incomplete
        multipart uploads under ``mimsreg/``, all older than ``older_than`` seconds.

        ``bucket``: the bucket name (``{region}`` filled in); without it, the bucket the region's
        versions point at. An artifact found in place is reused without being rewritten, so its
        age proves nothing: the artifacts and payloads named by young record documents of
        identities without a version (registrations in flight) are kept too.
        """
        chosen: list[Garbage] = []
        for region in list(regions or self.default_regions()):
            chosen.extend(self._region_garbage(region, older_than, bucket, dry_run))
        return chosen

    def _region_garbage(
        self, region: str, older_than: float, bucket: str | None, dry_run: bool
    ) -> list[Garbage]:
        versions = self.list_versions(region=region)
        # Listed before the objects: whatever a version created meanwhile uses is younger.
        now = datetime.now(timezone.utc)
        name = bucket.replace("{region}", region) if bucket else self._bucket_in_use(versions)
        if name is None:
            raise BadInputError(
                f"no bucket known for region {region} (it holds no version): name it with --bucket"
            )
        s3 = self._s3(region)
        objects = self._objects(s3, region, name)
        # A bucket that versions of other regions use too (registered before buckets were
        # checked against their region): their versions protect what they reference.
        identities = {version.identity for version in versions}
        for other in self._other_regions_in(region, name, objects, identities):
            versions += self.list_versions(region=other)
        referenced = set()
        for version in versions:
            for uri in (version.artifact_uri, version.payload_uri):
                where, key = _parse_s3_uri(uri or "")
                if where == name and key.startswith(KEY_PREFIX):
                    referenced.add(key[len(KEY_PREFIX) :])
        identities = {version.identity for version in versions}
        for record in in_flight_records(objects, identities, now, older_than):
            try:
                referenced |= in_flight_keys(self._get_json(region, record.location))
            except Exception as exc:  # removed meanwhile, or unreadable: protects nothing
                if not _is_client_error(exc) and not isinstance(exc, ValueError):
                    raise
        chosen = select_garbage(objects, referenced, identities, now, older_than)
        chosen += select_uploads(self._uploads(s3, region, name), now, older_than)
        if dry_run:
            return chosen
        for item in chosen:
            key = _parse_s3_uri(item.location)[1]
            if item.upload_id is not None:
                try:
                    s3.abort_multipart_upload(Bucket=name, Key=key, UploadId=item.upload_id)
                except Exception as exc:  # completed or aborted meanwhile: gone either way
                    if _error_code(exc) != "NoSuchUpload":
                        raise
            else:
                s3.delete_object(Bucket=name, Key=key)
        return [replace(item, removed=True) for item in chosen]

    def _other_regions_in(
        self, region: str, bucket: str, objects: Sequence[StoredObject], identities: set[str]
    ) -> set[str]:
        """Regions other than ``region`` whose registrations wrote record documents in
        ``bucket`` (read from the records of identities ``region`` has no version of)."""
        others: set[str] = set()
        for item in objects:
            identity = item.key[len("records/") : -len(".json")]
            if not item.key.startswith("records/") or identity in identities:
                continue
            try:
                record = self._get_json(region, item.location)
            except Exception as exc:  # removed meanwhile, or unreadable: names no region
                if not _is_client_error(exc) and not isinstance(exc, ValueError):
                    raise
                continue
            other = record.get("registration_region") if isinstance(record, dict) else None
            if isinstance(other, str) and other and other != region:
                others.add(other)
        return others

    @staticmethod
    def _bucket_in_use(versions: Sequence[VersionRecord]) -> str | None:
        for version in versions:
            where, _ = _parse_s3_uri(version.artifact_uri)
            if version.artifact_uri.startswith("s3://") and where:
                return where
        return None

    @staticmethod
    def _objects(s3: S3Client, region: str, bucket: str) -> list[StoredObject]:
        entries = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=KEY_PREFIX):
            for item in page.get("Contents", []):
                entries.append(
                    StoredObject(
                        key=item["Key"][len(KEY_PREFIX) :],
                        location=s3_uri(bucket, item["Key"]),
                        size=int(item.get("Size", 0)),
                        modified=item["LastModified"],
                        region=region,
                    )
                )
        return entries

    @staticmethod
    def _uploads(s3: S3Client, region: str, bucket: str) -> list[PendingUpload]:
        pending = []
        paginator = s3.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=bucket, Prefix=KEY_PREFIX):
            for upload in page.get("Uploads", []):
                pending.append(
                    PendingUpload(
                        key=upload["Key"][len(KEY_PREFIX) :],
                        location=s3_uri(bucket, upload["Key"]),
                        upload_id=upload["UploadId"],
                        initiated=upload["Initiated"],
                        region=region,
                    )
                )
        return pending
