"""What every part of the SageMaker backend shares: constants, helpers on S3 URIs and botocore's
errors, and ``SageMakerBase``, the state one inventory holds (its clients, made per region and
service when first needed, the buckets and hints of the prepared plans) and the client methods.

boto3 clients are made from one session (sessions are not thread-safe: under a lock), per region
and service, by the region's thread when it first needs one, or passed in (``clients=``) by tests
and callers that own them.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast

from mimsreg.engine.aws_compat import adapt_client
from mimsreg.engine.errors import BadInputError, InventoryError
from mimsreg.engine.inventory._aws_errors import no_credentials_error
from mimsreg.engine.inventory.base import Inventory
from mimsreg.engine.plan import RegionPlan

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

KEY_PREFIX = "mimsreg/"
META = "mimsreg:"  # prefix of our CustomerMetadataProperties keys
MULTIPART_CHUNK = 16 * 1024 * 1024
MAX_CONCURRENCY = 8
MAX_PARTS = 10_000  # S3's limit on the parts of one multipart upload
DEFAULT_MAX_ATTEMPTS = 8


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


def _group_missing(exc: BaseException) -> bool:
    """SageMaker's answer for a model package group that does not exist (a ValidationException
    saying so: there is no dedicated code)."""
    return _error_code(exc) == "ValidationException" and "does not exist" in _error_message(exc)


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


class SageMakerBase(Inventory):
    """The shared state and the clients; the backend's other parts are mixins over it.

    ``session``: a ``boto3.Session`` (default: a new one honouring profiles, ``AWS_REGION`` and
    ``AWS_ENDPOINT_URL``); ``clients``: ready clients per region, which take precedence;
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
        # Parts in flight across every upload of this backend (a model folder uploads several
        # files at once, each with its own pool): memory stays bounded by this many parts.
        self._part_slots = threading.BoundedSemaphore(max_concurrency)
        self._lock = threading.Lock()
        self._staged = threading.Condition()
        # sha256 (a folder's file: sha256:key) → (region, bucket) of a verified copy
        self._sources: dict[str, tuple[str, str]] = {}
        # sha256 → S3's SHA-256 checksum of a verified copy: the whole object's digest, or
        # (written in parts) the digest of the parts' digests with "-<parts>"
        self._checksums: dict[str, str] = {}
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
            # botocore reads AWS_DEFAULT_REGION and the profile's, not AWS_REGION: it comes first.
            region = os.environ.get("AWS_REGION") or self._session.region_name
        if not region:
            raise BadInputError(
                "no AWS region: name one with --region, or set MIMSREG_REGION, AWS_REGION, "
                "AWS_DEFAULT_REGION or a region in the AWS profile"
            )
        return [region]

    def check_credentials(self, where: str) -> None:
        """:class:`CredentialsError` when the session finds no credentials (nothing is sent);
        given clients bring their own."""
        if self._clients:
            return
        import boto3

        with self._lock:
            if self._session is None:
                self._session = boto3.Session()
            found = self._session.get_credentials()
            profiles = list(self._session.available_profiles)
        if found is None:
            raise no_credentials_error(where, profiles)

    @staticmethod
    def _bucket(plan: RegionPlan) -> str:
        if plan.bucket is None:
            raise InventoryError(f"{plan.region}: no bucket in the plan (prepare() checks it)")
        return plan.bucket

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
