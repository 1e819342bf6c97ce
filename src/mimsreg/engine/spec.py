"""Plain, portable registration facts: enums, regions, group names and the RegistrationSpec.

This module and everything the processing-job runtime imports run on Python 3.9 with only the
standard library and boto3 (stock SageMaker processing images): no pydantic, no 3.10+ syntax at run
time. :class:`mimsreg.config.ModelRegistrationConfig` validates user input and produces a
:class:`RegistrationSpec`; the plan, the executor and the backends consume only the spec.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Union

from mimsreg.engine.errors import PlanError


class _CaseInsensitiveEnum(str, Enum):
    """A string enum that accepts its values in any letter case: ``VariableType("numeric")``."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            folded = value.strip().casefold()
            for member in cls:
                if member.value.casefold() == folded:
                    return member
        return None

    def __str__(self) -> str:
        return str(self.value)


class VariableType(_CaseInsensitiveEnum):
    """The type of one input or output variable of the model."""

    NUMERIC = "NUMERIC"
    TEXT = "TEXT"


class Framework(_CaseInsensitiveEnum):
    """The ML frameworks whose SageMaker inference images mimsreg can register."""

    XGBOOST = "xgboost"
    SKLEARN = "sklearn"
    PYTORCH = "pytorch"
    TENSORFLOW = "tensorflow"


class ApprovalStatus(_CaseInsensitiveEnum):
    """SageMaker Model Registry's approval states; the local inventory uses the same three."""

    PENDING_MANUAL_APPROVAL = "PendingManualApproval"
    APPROVED = "Approved"
    REJECTED = "Rejected"


# A default per framework that names a real SageMaker inference image version of *that* framework.
# (The original defaulted to a PyTorch version while the framework defaulted to xgboost.)
DEFAULT_FRAMEWORK_VERSIONS: dict[Framework, str] = {
    Framework.XGBOOST: "1.7-1",
    Framework.SKLEARN: "1.2-1",
    Framework.PYTORCH: "2.1",
    Framework.TENSORFLOW: "2.13",
}

# The original's region codes; AWS region names are accepted as they are.
REGION_CODES: dict[str, str] = {"NA": "us-east-1", "EU": "eu-west-1", "FE": "us-west-2"}

_REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
GROUP_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# Variable names become CSV column positions, JSON keys and SageMaker metadata: keep them portable.
VARIABLE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")


# The regions botocore's endpoint data listed when this was written (every partition): the
# vocabulary of "did you mean" and of the geography/direction check below, not a closed list
# (a new region of a known shape, such as us-east-3, is accepted as it is).
KNOWN_REGIONS: tuple[str, ...] = (
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2",
    "ap-northeast-3", "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2",
    "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
    "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
    "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1",
    "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1",
    "us-west-2", "cn-north-1", "cn-northwest-1", "us-gov-east-1", "us-gov-west-1",
    "us-iso-east-1", "us-iso-west-1", "us-isob-east-1", "us-isob-west-1", "eu-isoe-west-1",
    "us-isof-east-1", "us-isof-south-1",
)  # fmt: skip
_GEOGRAPHIES = frozenset(region.split("-")[0] for region in KNOWN_REGIONS)
_DIRECTIONS = frozenset(region.split("-")[-2] for region in KNOWN_REGIONS)


def suggest_region(value: str) -> str | None:
    """The code or known region name closest to a mistyped ``value``, or None."""
    import difflib

    candidates = [*REGION_CODES, *KNOWN_REGIONS]
    close = difflib.get_close_matches(value.strip(), candidates, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(value.strip().lower(), candidates, n=1, cutoff=0.6)
    return close[0] if close else None


def normalise_region(value: str) -> str:
    """Return the AWS region name for an AWS region name or a legacy code (NA, EU, FE).

    Codes in any case; names as AWS spells them. A name of a region's shape whose geography or
    direction no region has (``us-eats-1``) is refused with the closest known name (``US-EAST-1``
    too), as is anything else not a region.
    """
    stripped = value.strip()
    code = REGION_CODES.get(stripped.upper())
    if code is not None:
        return code
    name = stripped
    parts = name.split("-")
    if _REGION_PATTERN.fullmatch(name) and parts[0] in _GEOGRAPHIES and parts[-2] in _DIRECTIONS:
        return name
    codes = ", ".join(REGION_CODES)
    suggestion = suggest_region(stripped)
    hint = f": did you mean {suggestion!r}?" if suggestion else ""
    raise ValueError(
        f"{value!r} is not an AWS region name (such as 'us-east-1') nor a code ({codes}){hint}"
    )


# Partitions other than ``aws`` and their DNS suffixes, as botocore's data/partitions.json lists
# them (regionRegex → id, outputs.dnsSuffix). First match wins; everything else is ``aws``.
_PARTITIONS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^cn-\w+-\d+$"), "aws-cn", "amazonaws.com.cn"),
    (re.compile(r"^us-gov-\w+-\d+$"), "aws-us-gov", "amazonaws.com"),
    (re.compile(r"^us-iso-\w+-\d+$"), "aws-iso", "c2s.ic.gov"),
    (re.compile(r"^us-isob-\w+-\d+$"), "aws-iso-b", "sc2s.sgov.gov"),
    (re.compile(r"^eu-isoe-\w+-\d+$"), "aws-iso-e", "cloud.adc-e.uk"),
    (re.compile(r"^us-isof-\w+-\d+$"), "aws-iso-f", "csp.hci.ic.gov"),
)


def _partition_entry(region: str) -> tuple[str, str]:
    for pattern, partition, suffix in _PARTITIONS:
        if pattern.fullmatch(region):
            return partition, suffix
    return "aws", "amazonaws.com"


def partition_of(region: str) -> str:
    """The ARN partition of ``region``: ``aws-cn`` for China, ``aws-us-gov`` for GovCloud..."""
    return _partition_entry(region)[0]


def dns_suffix_of(region: str) -> str:
    """The DNS suffix of service endpoints in ``region`` (``amazonaws.com.cn`` in China)."""
    return _partition_entry(region)[1]


# arn:<partition>:kms:<region>:<account>:key/<id> or :alias/<name>; the region is group 2.
KMS_ARN_PATTERN = re.compile(r"^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)/(.+)$")


def kms_key_region(key: str) -> str | None:
    """The region a KMS key ARN (or alias ARN) names; None for a key id or an alias name,
    which KMS resolves in the region of the request."""
    match = KMS_ARN_PATTERN.fullmatch(key)
    return match.group(2) if match else None


def name_problems(spec: RegistrationSpec) -> list[str]:
    """What is wrong with the names of a spec that arrived as a document (the job's input):
    each checked whole (``fullmatch``: ``"group\\n"`` passes a ``$`` pattern and looks like
    ``"group"``)."""
    problems = []
    if not GROUP_NAME_PATTERN.fullmatch(spec.model_package_group_name):
        problems.append(
            f"model_package_group_name {spec.model_package_group_name!r} is not a SageMaker "
            "model package group name (1 to 63 letters, digits and hyphens)"
        )
    if not _REGION_PATTERN.fullmatch(spec.region):
        problems.append(f"region {spec.region!r} is not an AWS region name")
    for side, pairs in (("input", spec.input_variables), ("output", spec.output_variables)):
        for name, _ in pairs:
            if not VARIABLE_NAME_PATTERN.fullmatch(name):
                problems.append(f"{side} variable name {name!r} is not valid")
    return problems


def derive_group_name(domain: str, objective: str) -> str:
    """A valid SageMaker model package group name (``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$``)."""
    name = re.sub(r"[^a-zA-Z0-9]+", "-", f"{domain}-{objective}").strip("-")
    name = name[:63].rstrip("-")
    return name or "mims-model"


# Aliases are evaluated at run time, where Python 3.9 has no `X | Y`.
VariablePairs = tuple[tuple[str, str], ...]
BucketSpec = Union[str, dict[str, str], None]
KmsKeySpec = Union[str, dict[str, str], None]
SampleValue = Union[float, int, str]


@dataclass(frozen=True)
class RegistrationSpec:
    """Everything a registration records, as plain JSON-able values (validated upstream)."""

    model_owner: str
    model_registration_domain: str
    model_registration_objective: str
    framework: str
    framework_version: str
    inference_instance_type: str
    inference_entry_point: str
    content_types: tuple[str, ...]
    response_types: tuple[str, ...]
    input_variables: VariablePairs
    output_variables: VariablePairs
    model_package_group_name: str
    region: str
    approval_status: str = ApprovalStatus.PENDING_MANUAL_APPROVAL.value
    model_package_description: str | None = None
    bucket: BucketSpec = None
    # Like ``bucket``: one key, a key with ``{region}``, or a mapping region → key.
    kms_key_id: KmsKeySpec = None
    tags: Mapping[str, str] = field(default_factory=dict)
    expected_tps: int = 2
    max_latency_in_millisecond: int = 800
    max_acceptable_error_rate: float = 0.2
    load_test_instance_types: tuple[str, ...] = ()
    # Per-input overrides of the sample payload's default values (name → value).
    payload_sample_values: Mapping[str, SampleValue] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict; :meth:`from_dict` reads it back."""
        data = asdict(self)
        for name in ("content_types", "response_types", "load_test_instance_types"):
            data[name] = list(data[name])
        for name in ("input_variables", "output_variables"):
            data[name] = [list(pair) for pair in data[name]]
        data["tags"] = dict(self.tags)
        # Left out when empty, so specs written before the field existed keep their metadata hash.
        if self.payload_sample_values:
            data["payload_sample_values"] = dict(self.payload_sample_values)
        else:
            del data["payload_sample_values"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RegistrationSpec:
        """Read a dict written by :meth:`to_dict` (as shipped to a processing job)."""
        values = dict(data)
        for name in ("content_types", "response_types", "load_test_instance_types"):
            values[name] = tuple(values.get(name) or ())
        for name in ("input_variables", "output_variables"):
            values[name] = tuple((str(n), str(t)) for n, t in values.get(name) or ())
        values["tags"] = dict(values.get("tags") or {})
        values["payload_sample_values"] = dict(values.get("payload_sample_values") or {})
        if isinstance(values.get("kms_key_id"), Mapping):
            values["kms_key_id"] = dict(values["kms_key_id"])
        return cls(**values)

    def variable_schema(self) -> dict[str, Any]:
        """The variable schema in the seed's JSON shape, order preserved."""
        return {
            "input": {"variables": [{"name": n, "type": t} for n, t in self.input_variables]},
            "output": {"variables": [{"name": n, "type": t} for n, t in self.output_variables]},
        }

    def metadata_hash(self) -> str:
        """SHA-256 of the canonical JSON of everything recorded; part of a version's identity."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def bucket_for(self, region: str) -> str | None:
        """The S3 bucket for ``region``: a mapping entry, or the name with ``{region}`` filled."""
        if self.bucket is None:
            return None
        if isinstance(self.bucket, str):
            return self.bucket.replace("{region}", region)
        return self.bucket.get(region)

    def kms_key_for(self, region: str) -> str | None:
        """The KMS key for ``region``: a mapping entry, or the key with ``{region}`` filled;
        None when no key is configured (or the mapping lacks ``region``: see ``build_plan``)."""
        if self.kms_key_id is None:
            return None
        if isinstance(self.kms_key_id, str):
            return self.kms_key_id.replace("{region}", region)
        return self.kms_key_id.get(region)

    def require_bucket(self, region: str) -> str:
        """The S3 bucket for ``region``; :class:`PlanError` naming the region when there is none.
        The one bucket check: the backend, the IAM policy and the pipeline step all use it."""
        bucket = self.bucket_for(region)
        if bucket is None:
            raise PlanError(
                f"bucket: no S3 bucket for region {region!r}: set 'bucket' in the configuration "
                "to a name, a name with {region}, or a mapping region → bucket"
            )
        return bucket
