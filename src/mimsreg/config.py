"""The registration configuration: the seed's parameters, their defaults and every validation rule.

Pure: no I/O except :meth:`ModelRegistrationConfig.from_file` (reading one file) and the seed's rule
that a local ``source_dir`` must hold the entry point (a file existence check).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    computed_field,
    field_serializer,
    field_validator,
    model_validator,
)

from mimsreg.engine.aws_rules import MAX_TAGS, tag_text_allowed
from mimsreg.engine.payload import (
    DEFAULT_NUMERIC_VALUE,
    DEFAULT_TEXT_VALUE,
    sample_value_problems,
    unique_keys,
)
from mimsreg.engine.spec import (
    DEFAULT_FRAMEWORK_VERSIONS,
    GROUP_NAME_PATTERN,
    KMS_ARN_PATTERN,
    REGION_CODES,
    VARIABLE_NAME_PATTERN,
    ApprovalStatus,
    Framework,
    RegistrationSpec,
    VariableType,
    derive_group_name,
    normalise_region,
    partition_of,
)
from mimsreg.errors import ConfigError, FieldError

__all__ = [
    "DEFAULT_FRAMEWORK_VERSIONS",
    "ORIGIN_IGNORED_FIELDS",
    "REGION_CODES",
    "ApprovalStatus",
    "Framework",
    "ModelRegistrationConfig",
    "OriginFieldsWarning",
    "PlaceholderWarning",
    "VariableType",
    "config_errors",
    "create_inference_variable_list",
    "derive_group_name",
    "normalise_region",
]


ALLOWED_MIME_LISTS: tuple[list[str], ...] = (["text/csv"], ["application/json"])
PLACEHOLDER_OWNERS = frozenset({"team id", "team-id", "teamid", "team_id", ""})

VARIABLE_NAME_RULE = (
    "1 to 128 characters: letters, digits, '_', '-' and '.', not starting with '-' or '.'"
)
_INSTANCE_TYPE_PATTERN = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")


class PlaceholderWarning(UserWarning):
    """A configuration value is still the seed's placeholder (``model_owner="team id"``)."""


class OriginFieldsWarning(UserWarning):
    """A configuration carries fields of the original pipeline framework, which mimsreg ignores."""


# What configurations written for the original step carry besides the registration fields: the
# base pipeline fields of its framework (``BasePipelineConfig`` in ``config_base.py``, every
# version) and the one field of its registration config mimsreg has no use for. Accepted so those
# files and that code run unchanged, ignored with one warning naming them (an error when strict).
# Where each comes from: docs/migration.md.
ORIGIN_IGNORED_FIELDS: tuple[str, ...] = (
    "author",
    "service_name",
    "pipeline_name",
    "pipeline_description",
    "pipeline_version",
    "pipeline_s3_loc",
    "model_class",
    "current_date",
    "py_version",
    "aws_region",
    "input_names",
    "output_names",
    "use_large_instance",
)
# The validation context key that makes those fields errors (``from_file(..., strict=True)``).
STRICT_ORIGIN = "mimsreg_strict_origin"
_ABSENT: Any = object()


def origin_warning(names: Sequence[str]) -> str:
    """The one warning a configuration with the original's base pipeline fields gets."""
    return (
        f"ignored {len(names)} field(s) of the original pipeline framework that mimsreg does not "
        f"use: {', '.join(names)} (see docs/migration.md; --strict refuses them)"
    )


def create_inference_variable_list(
    numeric_fields: Sequence[str] | None = None,
    text_fields: Sequence[str] | None = None,
    output_format: str = "dict",
) -> dict[str, VariableType] | list[list[str]]:
    """The original's helper: input variables from a list of NUMERIC and a list of TEXT names,
    numeric first, as a mapping name → type (``"dict"``) or ``[name, type]`` pairs (``"list"``).

    Raises ``ValueError`` as the original did: a name that is no string, a name in both lists, an
    unknown ``output_format``; and, as mimsreg checks every list, a name given twice.
    """
    numeric, text = list(numeric_fields or []), list(text_fields or [])
    for name in [*numeric, *text]:
        if not isinstance(name, str):
            raise ValueError(f"field names must be strings, got {type(name).__name__} {name!r}")
    both = sorted(set(numeric) & set(text))
    if both:
        raise ValueError(f"fields cannot be both numeric and text: {both!r}")
    repeated = sorted({name for name in [*numeric, *text] if [*numeric, *text].count(name) > 1})
    if repeated:
        raise ValueError(f"field(s) listed more than once: {repeated!r}")
    if output_format not in ("dict", "list"):
        raise ValueError(f"output_format must be 'dict' or 'list', got {output_format!r}")
    pairs = [(name, VariableType.NUMERIC) for name in numeric]
    pairs += [(name, VariableType.TEXT) for name in text]
    if output_format == "dict":
        return dict(pairs)
    return [[name, kind.value] for name, kind in pairs]


VariableList = dict[str, VariableType]


def _normalise_variables(value: Any) -> Any:
    """One canonical shape: an ordered mapping name → type. Accepts the legacy list of pairs."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (list, tuple)):
        result: dict[Any, Any] = {}
        for index, pair in enumerate(value):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValueError(f"item {index} must be a [name, type] pair, got {pair!r}")
            name, kind = pair
            if not isinstance(name, str):
                raise ValueError(f"item {index}: the variable name must be a string, got {name!r}")
            if name in result:
                raise ValueError(f"variable {name!r} is listed more than once")
            result[name] = kind
        return result
    return value


def _check_variable_names(variables: VariableList) -> VariableList:
    bad = [name for name in variables if not VARIABLE_NAME_PATTERN.fullmatch(name)]
    if bad:
        raise ValueError(f"invalid variable name(s) {bad!r}: names are {VARIABLE_NAME_RULE}")
    return variables


def _check_mime_list(value: list[str]) -> list[str]:
    if value not in ALLOWED_MIME_LISTS:
        allowed = " or ".join(json.dumps(option) for option in ALLOWED_MIME_LISTS)
        raise ValueError(f"must be exactly {allowed}, got {json.dumps(value)}")
    return value


# What SageMaker's SecurityConfig.KmsKeyId and S3's SSEKMSKeyId take besides ARNs: a key id (a
# UUID, or ``mrk-`` and 32 hex digits for a multi-Region key) or an alias name.
_KMS_KEY_ID_PATTERN = re.compile(
    r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|mrk-[0-9a-fA-F]{32}|alias/[a-zA-Z0-9/_-]{1,250})$"
)
KMS_KEY_FORMS = (
    "a key id, a key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), an alias name "
    "(alias/<name>), an alias ARN, or a multi-Region key (mrk-...) id or ARN"
)
# Stands in for ``{region}`` when a template's form is checked: a region of the ARN's partition.
_SAMPLE_REGIONS = {"aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}


def _kms_key_problem(key: str, region: str | None) -> str | None:
    """Why ``key`` cannot serve ``region`` (None: a key for every target region), or None.

    A ``{region}`` template is checked filled in with a sample region: its form, not its region.
    """
    sample = _SAMPLE_REGIONS.get(key.split(":")[1] if key.startswith("arn:") else "", "us-east-1")
    candidate = key.replace("{region}", region or sample)
    match = KMS_ARN_PATTERN.fullmatch(candidate)
    if match is None:
        if _KMS_KEY_ID_PATTERN.fullmatch(candidate):
            return None
        return f"{key!r} is not a KMS key: use {KMS_KEY_FORMS}"
    partition, key_region = match.group(1), match.group(2)
    if partition != partition_of(key_region):
        return (
            f"{key!r} names partition {partition!r}, but region {key_region} is in "
            f"{partition_of(key_region)!r}"
        )
    if region is not None and key_region != region:
        return (
            f"the key {key!r} for region {region} is in {key_region}: KMS keys are regional; "
            f"give a key of {region} (for a multi-Region key, the ARN of its replica in {region})"
        )
    return None


def _check_aws_region(value: Any, region: str) -> None:
    """The original derived ``aws_region`` from ``region``; one saying otherwise is a conflict."""
    try:
        named = normalise_region(value) if isinstance(value, str) else None
    except ValueError:
        named = None
    if named is None:
        raise ValueError(f"aws_region: {value!r} is not an AWS region name")
    if named != region:
        raise ValueError(
            f"aws_region: {value!r} contradicts region {region!r}; mimsreg uses region: set "
            "region to the AWS region meant (aws_region is then ignored)"
        )


def _check_instance_type(value: str) -> str:
    if not value.startswith("ml."):
        raise ValueError(f"must start with 'ml.' (a SageMaker instance type), got {value!r}")
    if not _INSTANCE_TYPE_PATTERN.fullmatch(value):
        raise ValueError(f"{value!r} is not an instance type of the form 'ml.<family>.<size>'")
    return value


class ModelRegistrationConfig(BaseModel):
    """How a packaged model is registered: governance metadata, variable schema and serving facts.

    Construct it from keyword arguments (pydantic raises ``ValidationError`` listing every field
    error) or from a YAML/JSON file with :meth:`from_file` (raises :class:`mimsreg.ConfigError`).
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_default=True,
        use_enum_values=False,
        protected_namespaces=(),
        title="mimsreg registration configuration",
    )

    # --- the seed's ten parameters, with the seed's defaults ---------------------------------
    framework: Framework = Field(
        default=Framework.XGBOOST,
        description="ML framework of the model: xgboost, sklearn, pytorch or tensorflow.",
    )
    inference_instance_type: str = Field(
        default="ml.m5.large",
        description="Instance type for the inference endpoint or transform job; starts with 'ml.'.",
    )
    inference_entry_point: str = Field(
        default="inference.py",
        description="Inference script, relative to the archive's code/ folder (and to source_dir).",
    )
    model_owner: str = Field(
        default="team id",
        max_length=256,
        description="Team id of the model's owner. The default is a placeholder and warns.",
    )
    model_registration_domain: str = Field(
        default="BuyerSellerMessaging",
        max_length=256,
        description="Business domain the model belongs to.",
    )
    model_registration_objective: str = Field(
        max_length=256,
        description="Objective of the model (required), e.g. FraudDetection.",
    )
    source_model_inference_content_types: list[str] = Field(
        default_factory=lambda: ["text/csv"],
        description='Request content type: exactly ["text/csv"] or ["application/json"].',
    )
    source_model_inference_response_types: list[str] = Field(
        default_factory=lambda: ["application/json"],
        description='Content type of responses: exactly ["text/csv"] or ["application/json"].',
    )
    source_model_inference_output_variable_list: VariableList = Field(
        default_factory=lambda: {"legacy-score": VariableType.NUMERIC},
        description="Output variables, name → NUMERIC | TEXT, in order. At least one.",
        json_schema_extra={"minProperties": 1},
    )
    source_model_inference_input_variable_list: VariableList = Field(
        default_factory=dict,
        description=(
            "Input variables, name → NUMERIC | TEXT, in order. Also accepts the legacy list of "
            '[name, type] pairs, e.g. [["age", "NUMERIC"]].'
        ),
    )

    payload_sample_values: dict[str, float | int | str] = Field(
        default_factory=dict,
        description=(
            "Values of the generated sample payload, input variable name → value. Inputs not "
            f"listed get {DEFAULT_NUMERIC_VALUE!r} (NUMERIC) or {DEFAULT_TEXT_VALUE!r} (TEXT). "
            "Values of NUMERIC inputs are finite numbers or numeric strings."
        ),
    )

    # --- where the inference code lives -------------------------------------------------------
    source_dir: str | None = Field(
        default=None,
        description=(
            "Folder (or s3:// URI) of the inference code. A local folder must contain "
            "inference_entry_point."
        ),
    )

    # --- what the original carried, made explicit ---------------------------------------------
    framework_version: str | None = Field(
        default=None,
        description=(
            "Framework version of the inference image. Default per framework: "
            + ", ".join(f"{f.value} {v}" for f, v in DEFAULT_FRAMEWORK_VERSIONS.items())
            + "."
        ),
    )
    region: str = Field(
        default="us-east-1",
        description="Home AWS region: a region name, or the legacy codes NA, EU, FE.",
    )
    model_package_group_name: str | None = Field(
        default=None,
        description=(
            "Model package group. Default: derived from domain and objective. Must match "
            "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$."
        ),
    )
    model_package_description: str | None = Field(
        default=None,
        max_length=1024,
        description="Free-text description stored with every version.",
    )
    approval_status: ApprovalStatus = Field(
        default=ApprovalStatus.PENDING_MANUAL_APPROVAL,
        description="Approval status of new versions: PendingManualApproval, Approved, Rejected.",
    )
    bucket: str | dict[str, str] | None = Field(
        default=None,
        description=(
            "S3 bucket for artifacts in SageMaker mode: a name, a name with a {region} "
            "placeholder, or a mapping region → bucket."
        ),
    )
    role: str | None = Field(
        default=None,
        description="IAM role ARN the registration job runs as (pipeline step).",
    )
    kms_key_id: str | dict[str, str] | None = Field(
        default=None,
        description=(
            "KMS key for S3 artifacts and the model package (optional), as bucket takes it: a "
            "key, a key with a {region} placeholder, or a mapping region → key. A key is "
            + KMS_KEY_FORMS
            + ". KMS keys are regional: an ARN serves its own region only."
        ),
    )
    tags: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Tags put on the model package group (SageMaker takes none on versions): at most 50; "
            "keys 1-128 and values 0-256 characters of letters, digits, spaces and _.:/=+-@; keys "
            "not starting with 'aws:'."
        ),
    )

    # --- load-testing expectations the original carried ---------------------------------------
    expected_tps: int = Field(
        default=2, gt=0, description="Expected transactions per second under load."
    )
    max_latency_in_millisecond: int = Field(
        default=800, gt=0, description="Maximum acceptable latency in milliseconds."
    )
    max_acceptable_error_rate: float = Field(
        default=0.2, ge=0.0, le=1.0, description="Maximum acceptable error rate, 0 to 1."
    )
    load_test_instance_types: list[str] | None = Field(
        default=None,
        description="Instance types to load-test on. Default: [inference_instance_type].",
    )

    # ------------------------------------------------------------------------------------------
    _FILE_SUFFIXES: ClassVar[tuple[str, ...]] = (".yaml", ".yml", ".json")
    _input_format: str = PrivateAttr(default="dict")

    @field_validator("model_registration_objective", "model_registration_domain", "model_owner")
    @classmethod
    def _strip_text(cls, value: str, info: ValidationInfo) -> str:
        stripped = value.strip()
        if info.field_name == "model_registration_objective" and not stripped:
            raise ValueError("must be provided (a non-empty objective, e.g. 'FraudDetection')")
        if info.field_name == "model_registration_domain" and not stripped:
            raise ValueError("must not be empty")
        return stripped

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        # SageMaker's Tag shape (TagKey, TagValue) and its tagging rules: refused here, by field,
        # rather than by AWS after the artifacts are uploaded.
        if len(value) > MAX_TAGS:
            raise ValueError(f"at most {MAX_TAGS} tags, got {len(value)}")
        for key, text in value.items():
            if not 1 <= len(key) <= 128 or not tag_text_allowed(key):
                raise ValueError(
                    f"tag key {key[:40]!r}: 1 to 128 characters of letters, digits, spaces and "
                    "_.:/=+-@"
                )
            if key.lower().startswith("aws:"):
                raise ValueError(f"tag key {key[:40]!r}: the 'aws:' prefix is reserved by AWS")
            if len(text) > 256 or not tag_text_allowed(text):
                raise ValueError(
                    f"tag {key[:40]!r}: the value must be at most 256 characters of letters, "
                    "digits, spaces and _.:/=+-@"
                )
        return value

    @field_validator("inference_instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        return _check_instance_type(value)

    @field_validator("load_test_instance_types")
    @classmethod
    def _load_test_instance_types(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            for item in value:
                _check_instance_type(item)
        return value

    @field_validator("inference_entry_point")
    @classmethod
    def _entry_point(cls, value: str) -> str:
        parts = Path(value).parts
        if not value.strip() or value.startswith("/") or ".." in parts:
            raise ValueError(f"must be a relative path inside code/, got {value!r}")
        if not value.endswith(".py"):
            raise ValueError(f"must name a Python script ending in .py, got {value!r}")
        return value

    @field_validator(
        "source_model_inference_content_types", "source_model_inference_response_types"
    )
    @classmethod
    def _mime_types(cls, value: list[str]) -> list[str]:
        return _check_mime_list(value)

    @field_validator(
        "source_model_inference_output_variable_list",
        "source_model_inference_input_variable_list",
        mode="before",
        json_schema_input_type=dict[str, VariableType] | list[tuple[str, VariableType]],
    )
    @classmethod
    def _variables_shape(cls, value: Any) -> Any:
        return _normalise_variables(value)

    @field_validator("source_model_inference_output_variable_list")
    @classmethod
    def _outputs(cls, value: VariableList) -> VariableList:
        if not value:
            raise ValueError("at least one output variable must be defined")
        return _check_variable_names(value)

    @field_validator("source_model_inference_input_variable_list")
    @classmethod
    def _inputs(cls, value: VariableList) -> VariableList:
        return _check_variable_names(value)

    @field_validator("payload_sample_values", mode="before")
    @classmethod
    def _sample_value_kinds(cls, value: Any) -> Any:
        # Before pydantic's union coercion, which would turn True into 1.
        if isinstance(value, Mapping):
            for name, item in value.items():
                if isinstance(item, bool) or not isinstance(item, (int, float, str)):
                    raise ValueError(
                        f"the value of {name!r} must be a number or a string, got {item!r}"
                    )
        return value

    @field_validator("payload_sample_values")
    @classmethod
    def _sample_values(
        cls, value: dict[str, float | int | str], info: ValidationInfo
    ) -> dict[str, float | int | str]:
        inputs = info.data.get("source_model_inference_input_variable_list")
        if inputs is None:  # the input list itself failed validation and is reported there
            return value
        problems = sample_value_problems(value, _pairs(inputs))
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("source_dir")
    @classmethod
    def _source_dir(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or value.startswith("s3://"):
            return value
        entry_point = info.data.get("inference_entry_point")
        if entry_point is None:  # the entry point itself failed validation and is reported there
            return value
        script = Path(value) / entry_point
        try:
            found = script.is_file()
        except OSError as exc:  # a name too long for the file system, and the like
            raise ValueError(
                f"cannot look for the inference entry point in source_dir: {exc}"
            ) from exc
        if not found:
            raise ValueError(
                f"inference entry point {entry_point!r} not found in source_dir: "
                f"{str(script)!r} does not exist"
            )
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        return normalise_region(value)

    @field_validator("model_package_group_name")
    @classmethod
    def _group_name(cls, value: str | None) -> str | None:
        if value is not None and not GROUP_NAME_PATTERN.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a valid SageMaker model package group name: 1 to 63 letters, "
                "digits and hyphens, starting and ending with a letter or digit"
            )
        return value

    @field_validator("framework_version")
    @classmethod
    def _framework_version(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9][0-9A-Za-z.\-]*", value):
            raise ValueError(f"{value!r} is not a framework version such as '1.7-1' or '2.1'")
        return value

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        if isinstance(value, dict):
            return {normalise_region(region): name for region, name in value.items()}
        return value

    @field_validator("kms_key_id")
    @classmethod
    def _kms_key_id(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        if value is None:
            return None
        if isinstance(value, str):
            problem = _kms_key_problem(value, None)
            if problem:
                raise ValueError(problem)
            return value
        keys: dict[str, str] = {}
        problems = []
        for raw_region, key in value.items():
            region = normalise_region(raw_region)
            if "{region}" in key:
                problems.append(f"{region}: {key!r}: a mapping names each region's key as is")
            elif (problem := _kms_key_problem(key, region)) is not None:
                problems.append(problem)
            keys[region] = key
        if problems:
            raise ValueError("; ".join(problems))
        return keys

    @model_validator(mode="wrap")
    @classmethod
    def _origin_fields(
        cls,
        data: Any,
        handler: ModelWrapValidatorHandler[ModelRegistrationConfig],
        info: ValidationInfo,
    ) -> ModelRegistrationConfig:
        """The original's base pipeline fields set aside (kept, to fail as unknown, when strict)
        and the derived ``variable_schema`` of a dump taken back; both checked against the
        validated configuration."""
        if not isinstance(data, Mapping):
            return handler(data)
        strict = bool(info.context and info.context.get(STRICT_ORIGIN))
        values = dict(data)
        ignored = {} if strict else {n: values.pop(n) for n in ORIGIN_IGNORED_FIELDS if n in values}
        schema = values.pop("variable_schema", _ABSENT)
        config = handler(values)
        if schema is not _ABSENT and schema != config.variable_schema:
            raise ValueError(
                "variable_schema: it is derived from the variable lists and differs from theirs; "
                "leave it out or make the lists say the same"
            )
        if "aws_region" in ignored:
            _check_aws_region(ignored["aws_region"], config.region)
        if ignored:
            warnings.warn(origin_warning(list(ignored)), OriginFieldsWarning, stacklevel=2)
        return config

    @model_validator(mode="after")
    def _warn_placeholders(self) -> ModelRegistrationConfig:
        for message in self.placeholder_warnings():
            warnings.warn(message, PlaceholderWarning, stacklevel=2)
        return self

    # --- derived values -----------------------------------------------------------------------
    @property
    def resolved_framework_version(self) -> str:
        """The framework version to use: the configured one, or the framework's default."""
        return self.framework_version or DEFAULT_FRAMEWORK_VERSIONS[self.framework]

    @property
    def resolved_group_name(self) -> str:
        """The model package group: the configured one, or one derived from domain and objective."""
        return self.model_package_group_name or derive_group_name(
            self.model_registration_domain, self.model_registration_objective
        )

    @property
    def resolved_load_test_instance_types(self) -> list[str]:
        """Instance types to load-test on; the inference instance type when none is configured."""
        return list(self.load_test_instance_types or [self.inference_instance_type])

    def placeholder_warnings(self) -> list[str]:
        """Messages for values that validate but are still the seed's placeholders."""
        messages = []
        if self.model_owner.casefold() in PLACEHOLDER_OWNERS:
            messages.append(
                f"model_owner is the placeholder {self.model_owner!r}: set it to your team id"
            )
        return messages

    def to_spec(self) -> RegistrationSpec:
        """The plain, portable registration facts the plan and the backends consume."""
        return RegistrationSpec(
            model_owner=self.model_owner,
            model_registration_domain=self.model_registration_domain,
            model_registration_objective=self.model_registration_objective,
            framework=self.framework.value,
            framework_version=self.resolved_framework_version,
            inference_instance_type=self.inference_instance_type,
            inference_entry_point=self.inference_entry_point,
            content_types=tuple(self.source_model_inference_content_types),
            response_types=tuple(self.source_model_inference_response_types),
            input_variables=_pairs(self.source_model_inference_input_variable_list),
            output_variables=_pairs(self.source_model_inference_output_variable_list),
            model_package_group_name=self.resolved_group_name,
            region=self.region,
            approval_status=self.approval_status.value,
            model_package_description=self.model_package_description,
            bucket=dict(self.bucket) if isinstance(self.bucket, dict) else self.bucket,
            kms_key_id=self.kms_key_id,
            tags=dict(self.tags),
            expected_tps=self.expected_tps,
            max_latency_in_millisecond=self.max_latency_in_millisecond,
            max_acceptable_error_rate=self.max_acceptable_error_rate,
            load_test_instance_types=tuple(self.resolved_load_test_instance_types),
            payload_sample_values=dict(self.payload_sample_values),
        )

    def get_variable_schema(self) -> dict[str, Any]:
        """The variable schema in the seed's JSON shape, variables in their configured order."""
        return self.to_spec().variable_schema()

    @computed_field(  # type: ignore[prop-decorator]
        description="The variable schema in the seed's JSON shape (derived, in every dump)."
    )
    @property
    def variable_schema(self) -> dict[str, Any]:
        """The original's property: :meth:`get_variable_schema`, also in ``model_dump()``."""
        return self.get_variable_schema()

    @field_serializer("source_model_inference_input_variable_list", mode="wrap")
    def _dump_inputs(self, value: VariableList, handler: SerializerFunctionWrapHandler) -> Any:
        # The form the original's setter was asked to store (output_format="list"), in dumps.
        if self._input_format == "list":
            return [[name, kind.value] for name, kind in value.items()]
        return handler(value)

    def set_source_model_inference_input_variable_list(
        self,
        numeric_fields: Sequence[str] | None = None,
        text_fields: Sequence[str] | None = None,
        output_format: str = "dict",
    ) -> None:
        """The original's setter: the input variables from a list of NUMERIC and a list of TEXT
        names (numeric first), replacing the current ones.

        The one method that changes a configuration in place, as the original's code expects:
        the whole configuration is validated again with the new inputs (names, sample values)
        and nothing changes when that fails (``ValueError``). The attribute stays the ordered
        mapping name → type whatever ``output_format`` says; ``"list"`` makes ``model_dump()``
        give ``[name, type]`` pairs, as the original stored them.
        """
        variables = create_inference_variable_list(numeric_fields, text_fields, output_format)
        values = {name: getattr(self, name) for name in type(self).model_fields}
        values["source_model_inference_input_variable_list"] = variables
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PlaceholderWarning)  # said when it was made
            fresh = type(self).model_validate(values)
        self.__dict__.update(fresh.__dict__)
        self._input_format = output_format

    # --- loading ------------------------------------------------------------------------------
    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], source: str | None = None, *, strict: bool = False
    ) -> ModelRegistrationConfig:
        """Validate a mapping of field names; raise :class:`ConfigError` with every error.

        ``strict``: the original framework's base pipeline fields (:data:`ORIGIN_IGNORED_FIELDS`)
        are errors instead of being ignored with an :class:`OriginFieldsWarning`.
        """
        try:
            return cls.model_validate(dict(data), context={STRICT_ORIGIN: strict})
        except ValidationError as exc:
            raise ConfigError(config_errors(exc), source=source) from exc
        except RecursionError as exc:  # values nested thousands deep
            raise ConfigError([FieldError("(config)", TOO_DEEP)], source=source) from exc

    @classmethod
    def from_file(cls, path: str | Path, *, strict: bool = False) -> ModelRegistrationConfig:
        """Load a YAML or JSON file whose keys are the field names, or a pipeline configuration
        the original framework saved (``{"configuration": {"shared", "specific"}, "metadata":
        {"config_types"}}``), of which the registration step's fields are taken.

        Relative ``source_dir`` paths are taken relative to the file's folder. ``strict``: as
        :meth:`from_mapping`.
        """
        path = Path(path)
        data = load_mapping(path)
        if "configuration" in data and "metadata" in data:
            data = saved_registration_fields(data, str(path))
        source_dir = data.get("source_dir")
        is_local = isinstance(source_dir, str) and not source_dir.startswith("s3://")
        if is_local and not Path(str(source_dir)).is_absolute():
            data["source_dir"] = str(path.parent / str(source_dir))
        return cls.from_mapping(data, source=str(path), strict=strict)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """JSON Schema of the configuration file, for editors."""
        schema = cls.model_json_schema(mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        return schema


def _pairs(variables: VariableList) -> tuple[tuple[str, str], ...]:
    return tuple((name, kind.value) for name, kind in variables.items())


def config_errors(exc: ValidationError) -> list[FieldError]:
    """One :class:`FieldError` per pydantic error, its field as a dotted path."""
    result = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "(config)"
        message = str(error["msg"])
        message = message.removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "is required"
        elif error["type"] == "extra_forbidden" and field in ORIGIN_IGNORED_FIELDS:
            message = (
                "is a field of the original pipeline framework that mimsreg does not use "
                "(ignored with a warning unless strict)"
            )
        elif error["type"] == "extra_forbidden":
            message = "is not a known field (check its spelling)"
            suggestion = _closest_field(error["loc"])
            if suggestion:
                message = f"is not a known field: did you mean {suggestion!r}?"
        elif field == "(config)" and message.partition(": ")[0] in _CHECKED_ACROSS:
            field, _, message = message.partition(": ")
        elif error["type"] == "enum":
            message = f"{message}, got {error['input']!r}"
        result.append(FieldError(field, message))
    return result


def _closest_field(location: tuple[int | str, ...]) -> str | None:
    """The configuration field a top-level unknown key most likely meant, or None."""
    import difflib

    if len(location) != 1 or not isinstance(location[0], str):
        return None
    names = list(ModelRegistrationConfig.model_fields)
    close = difflib.get_close_matches(location[0], names, n=1, cutoff=0.75)
    return close[0] if close else None


# Fields checked against the validated configuration as a whole (their errors name them).
_CHECKED_ACROSS = frozenset({"aws_region", "variable_schema"})

# The original framework's names of its registration config class, over its versions.
ORIGIN_REGISTRATION_CLASSES = frozenset({"ModelRegistrationConfig", "RegistrationConfig"})
# Type markers its later serializer put in each step's section.
_ORIGIN_MARKERS = frozenset({"__model_type__", "__model_module__"})


def saved_registration_fields(data: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The registration step's fields of a pipeline configuration the original saved.

    Its layout (``merge_and_save_configs``): ``metadata.config_types`` maps each step name to
    its config class; ``configuration.shared`` holds values common to several steps and
    ``configuration.specific`` each step's own. As the original's ``load_configs`` did, the
    step's fields are the shared values of fields it has, then its specific ones; every
    specific key must be known (a typo fails). ``configuration.processing`` belongs to
    processing steps, which the registration step of the seed's era was not.
    """
    configuration, metadata = data.get("configuration"), data.get("metadata")
    if not isinstance(configuration, Mapping) or not isinstance(metadata, Mapping):
        raise _file_error(source, "'configuration' and 'metadata' must be mappings")
    types = metadata.get("config_types")
    if not isinstance(types, Mapping):
        raise _file_error(source, "metadata.config_types must map step names to config classes")
    steps = [step for step, name in types.items() if name in ORIGIN_REGISTRATION_CLASSES]
    if len(steps) != 1:
        found = ", ".join(f"{step} ({name})" for step, name in types.items()) or "none"
        raise _file_error(
            source,
            f"metadata.config_types must name exactly one registration step (a "
            f"{' or '.join(sorted(ORIGIN_REGISTRATION_CLASSES))}); it names {found}",
        )
    shared = configuration.get("shared") or {}
    specific = (configuration.get("specific") or {}).get(steps[0]) or {}
    if not isinstance(shared, Mapping) or not isinstance(specific, Mapping):
        raise _file_error(source, f"configuration.shared and .specific.{steps[0]} must be mappings")
    known = set(ModelRegistrationConfig.model_fields) | set(ORIGIN_IGNORED_FIELDS)
    fields = {name: _plain(value) for name, value in shared.items() if name in known}
    fields.update(
        (name, _plain(value)) for name, value in specific.items() if name not in _ORIGIN_MARKERS
    )
    return fields


def _plain(value: Any) -> Any:
    """A value without the type wrapper of the original's later serializer
    (``{"__type_info__": ..., "value": ...}``)."""
    if isinstance(value, Mapping) and "__type_info__" in value and "value" in value:
        return _plain(value["value"])
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _file_error(source: str, message: str) -> ConfigError:
    return ConfigError([FieldError("(file)", f"saved pipeline configuration: {message}")], source)


TOO_DEEP = "values are nested too deeply to read (a configuration needs a few levels at most)"


def load_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML or JSON file holding one mapping; a duplicate key is an error, not a override."""
    if path.suffix.lower() not in ModelRegistrationConfig._FILE_SUFFIXES:
        raise ConfigError(
            [FieldError("(file)", f"{path.name!r}: use a .yaml, .yml or .json file")],
            source=str(path),
        )
    try:
        # utf-8-sig: a byte order mark, as some Windows editors write, is not part of the text.
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([FieldError("(file)", f"cannot read {str(path)!r}: {exc}")]) from exc
    try:
        data = _parse_json(text) if path.suffix.lower() == ".json" else _parse_yaml(text)
    except ValueError as exc:
        raise ConfigError([FieldError("(file)", str(exc))], source=str(path)) from exc
    except RecursionError as exc:
        raise ConfigError([FieldError("(file)", TOO_DEEP)], source=str(path)) from exc
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ConfigError(
            [FieldError("(file)", f"must hold a mapping of field names, got a {kind}")],
            source=str(path),
        )
    return data


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc}") from exc


def _parse_yaml(text: str) -> Any:
    import yaml

    class _StrictLoader(yaml.SafeLoader):
        def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
            # An alias is a reference, and a few hundred bytes of them expand to billions of
            # values (and messages quoting them): a configuration needs none.
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise ValueError(
                    f"line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) are not "
                    "allowed in a configuration: write the value out"
                )
            return super().compose_node(parent, index)

    def _mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        pairs = []
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise ValueError(f"line {key_node.start_mark.line + 1}: keys must be plain values")
            pairs.append((key, loader.construct_object(value_node, deep=True)))
        try:
            return unique_keys(pairs)
        except ValueError as exc:
            raise ValueError(f"line {node.start_mark.line + 1}: {exc}") from None

    _StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {exc}") from exc
