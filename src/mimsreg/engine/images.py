"""SageMaker inference image URIs, resolved as the SageMaker Python SDK v2 does, without the SDK.

``inference_image_uri("xgboost", "1.7-1", "us-east-1", "ml.m5.large")`` returns what
``sagemaker.image_uris.retrieve(framework, region, version, instance_type=...,
image_scope="inference")`` returns, for xgboost, sklearn, pytorch and tensorflow, in every region
the SDK knows (with the partition's ECR domain: ``amazonaws.com.cn`` in China, ``c2s.ic.gov``, ...).
Importing the SDK costs seconds and hundreds of MB, and the processing-job runtime has only the
standard library, so the facts come from ``mimsreg/engine/data/images.json``, a compact table
generated from the SDK's bundled configuration by ``scripts/gen_image_table.py`` (its ``about``
field names the SDK version).

What the SDK does and this module copies: version aliases (pytorch ``2.1`` resolves to the 2.1.0
entry; the tag keeps the version as given, ``2.1-cpu-py310``, like the SDK), CPU or GPU images by
instance family (``g*``/``p*`` are GPU), Graviton images for Graviton families (``ml.c7g.*``...),
the p4d container suffixes of old versions, and the deprecation of p2 instances for pytorch >= 1.13
and tensorflow >= 2.12.

Where this module is stricter than the SDK, it raises :class:`~mimsreg.engine.errors.PlanError`
instead of returning a URI that names something else: an unknown framework, version or region; an
instance type the image does not support (GPU for sklearn, Inferentia/Trainium, which need Neuron
images); a version with no Graviton image (the SDK silently substitutes sklearn 1.0-1 there); a
malformed instance type. It never returns a placeholder.

When a version has several Python versions (pytorch 1.4 to 1.8: ``py3``/``py36``), the SDK requires
``py_version``; this module takes the newest unless ``py_version=`` is given.

Portable: Python 3.9, standard library only (the processing-job runtime imports it).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from mimsreg.engine.errors import PlanError

__all__ = [
    "FRAMEWORKS",
    "inference_image_uri",
    "source_sdk_version",
    "supported_regions",
    "supported_versions",
]

FRAMEWORKS: tuple[str, ...] = ("xgboost", "sklearn", "pytorch", "tensorflow")

_INFERENCE = "inference"
_GRAVITON = "inference_graviton"
_SINGLE_IMAGE_FRAMEWORKS = ("xgboost", "sklearn")  # no processor in the tag; arm64 tags by table
# The SDK's utils.get_instance_type_family: "ml.<family>.<size>" or "ml_<family>".
_FAMILY_PATTERN = re.compile(r"^ml[\._]([a-z\d\-]+)\.?\w*$")
# Error messages list at most this many choices.
_LIST_LIMIT = 20


@dataclass(frozen=True)
class _Image:
    """One image version of one scope: where it lives and how its tag is built."""

    repository: str
    registries: Mapping[str, str]
    processors: tuple[str, ...]  # empty: the same image for every instance type (xgboost)
    py_versions: tuple[str, ...]
    container_version: Mapping[str, str]
    tag_prefix: str | None


@dataclass(frozen=True)
class _Scope:
    versions: Mapping[str, _Image]
    aliases: Mapping[str, str]

    def accepted(self) -> list[str]:
        """Every version string accepted: the versions and their aliases, oldest first."""
        return sorted(set(self.versions) | set(self.aliases), key=_version_key)

    def image(self, version: str) -> _Image | None:
        return self.versions.get(self.aliases.get(version, version))


@dataclass(frozen=True)
class _Table:
    sagemaker_version: str
    frameworks: Mapping[str, Mapping[str, _Scope]]
    dns_suffix_by_region: Mapping[str, str]
    default_dns_suffix: str
    graviton_families: frozenset[str]
    arm64_tags: Mapping[str, Mapping[str, str]]
    p4d_container_versions: Mapping[str, str]


def _parse_table(data: Mapping[str, Any]) -> _Table:
    registries: list[dict[str, str]] = [dict(r) for r in data["registries"]]
    frameworks: dict[str, dict[str, _Scope]] = {}
    for framework, scopes in data["frameworks"].items():
        frameworks[framework] = {}
        for scope_name, scope in scopes.items():
            scope_processors = tuple(scope.get("processors") or ())
            versions = {
                version: _Image(
                    repository=entry["repository"],
                    registries=registries[entry["registries"]],
                    # As in the SDK: the scope's processors win over the version's.
                    processors=scope_processors or tuple(entry.get("processors") or ()),
                    py_versions=tuple(entry.get("py_versions") or ()),
                    container_version=dict(entry.get("container_version") or {}),
                    tag_prefix=entry.get("tag_prefix"),
                )
                for version, entry in scope["versions"].items()
            }
            frameworks[framework][scope_name] = _Scope(versions, dict(scope.get("aliases") or {}))
    return _Table(
        sagemaker_version=str(data["sagemaker_version"]),
        frameworks=frameworks,
        dns_suffix_by_region={
            region: suffix for suffix, regions in data["dns_suffixes"].items() for region in regions
        },
        default_dns_suffix=str(data["default_dns_suffix"]),
        graviton_families=frozenset(data["graviton_families"]),
        arm64_tags={fw: dict(tags) for fw, tags in data["arm64_tags"].items()},
        p4d_container_versions=dict(data["p4d_container_versions"]),
    )


@functools.cache
def _table() -> _Table:
    """The image table, read once on first use (``files()`` also reads it from a zip)."""
    text = (
        resources.files("mimsreg.engine").joinpath("data/images.json").read_text(encoding="utf-8")
    )
    return _parse_table(json.loads(text))


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order: ``1.10`` after ``1.9``, ``0.90-2`` after ``0.90-1``, words last."""
    parts = re.split(r"[.\-]", version)
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in parts)


def _py_key(py_version: str) -> tuple[int, ...]:
    """``py3`` < ``py36`` < ``py39`` < ``py310``: the major digit, then the minor number."""
    digits = py_version[2:]
    if not digits.isdigit():
        return (0,)
    return (int(digits[0]),) + ((int(digits[1:]),) if len(digits) > 1 else ())


def _listing(choices: Sequence[str], keep_newest: bool = False) -> str:
    """The choices for an error message, at most ``_LIST_LIMIT`` of them."""
    if len(choices) <= _LIST_LIMIT:
        return ", ".join(choices)
    hidden = len(choices) - _LIST_LIMIT
    if keep_newest:
        return f"({hidden} older), " + ", ".join(choices[-_LIST_LIMIT:])
    return ", ".join(choices[:_LIST_LIMIT]) + f" (and {hidden} more)"


def _framework(framework: str) -> str:
    name = framework.strip().casefold()
    if name not in FRAMEWORKS:
        raise PlanError(
            f"unknown framework {framework!r}: inference images are known for "
            f"{', '.join(FRAMEWORKS)}"
        )
    return name


def _instance_family(instance_type: str) -> str:
    """The family of ``ml.<family>.<size>``; empty for ``local``/``local_gpu``."""
    if instance_type in ("local", "local_gpu"):
        return ""
    match = _FAMILY_PATTERN.fullmatch(instance_type)
    if match is None:
        raise PlanError(
            f"invalid SageMaker instance type {instance_type!r}: expected 'ml.<family>.<size>' "
            "(such as 'ml.m5.large')"
        )
    return match.group(1)


def _inference_scope(framework: str) -> _Scope:
    return _table().frameworks[framework][_INFERENCE]


def _resolve_image(framework: str, version: str, scope_name: str) -> _Image:
    table = _table()
    scope = table.frameworks[framework].get(scope_name)
    image = scope.image(version) if scope is not None else None
    if image is not None:
        return image
    known = _inference_scope(framework)
    if scope_name == _GRAVITON and known.image(version) is not None:
        choices = scope.accepted() if scope is not None else []
        raise PlanError(
            f"{framework} {version!r} has no Graviton inference image; versions that have one: "
            f"{_listing(choices, keep_newest=True) or 'none'} (or use an x86 instance type)"
        )
    raise PlanError(
        f"unknown {framework} version {version!r}: SageMaker inference images exist for "
        f"{_listing(known.accepted(), keep_newest=True)}"
    )


def _processor(
    framework: str, version: str, instance_type: str, family: str, available: Sequence[str]
) -> str | None:
    """The SDK's ``_processor``: cpu, gpu or a family name; None when the tag has none."""
    if not available:
        return None
    if instance_type.startswith("local"):
        processor = "cpu" if instance_type == "local" else "gpu"
    elif family in available:
        processor = family
    elif family.startswith("inf"):
        processor = "inf"  # (trn families were refused before: Trainium means Neuron images)
    elif family[0] in ("g", "p"):
        processor = "gpu"
    else:
        processor = "cpu"
    if processor not in available:
        raise PlanError(
            f"{framework} {version} has no {processor.upper()} inference image for instance "
            f"type {instance_type!r}: its images are for {', '.join(available)} instances"
        )
    return processor


def _py_version(framework: str, version: str, image: _Image, requested: str | None) -> str | None:
    if not image.py_versions:
        return None  # the SDK ignores a Python version the tag has no place for
    if requested is None:
        return max(image.py_versions, key=_py_key)
    if requested not in image.py_versions:
        raise PlanError(
            f"unsupported Python version {requested!r} for {framework} {version}: "
            f"{', '.join(image.py_versions)}"
        )
    return requested


def _check_not_deprecated(framework: str, version: str, family: str) -> None:
    """The SDK refuses p2 instances from pytorch 1.13 and tensorflow 2.12 on."""
    if family != "p2":
        return
    limits = {"pytorch": (1, 13), "tensorflow": (2, 12)}
    limit = limits.get(framework)
    numbers = tuple(int(p) for p in re.findall(r"\d+", version)[:2])
    if limit is not None and numbers >= limit:
        raise PlanError(
            f"p2 instances are deprecated for {framework} {version} (from pytorch 1.13 and "
            "tensorflow 2.12 on): choose another GPU instance type"
        )


def inference_image_uri(
    framework: str,
    framework_version: str,
    region: str,
    instance_type: str,
    *,
    py_version: str | None = None,
) -> str:
    """The ECR URI of the SageMaker inference image, as ``sagemaker.image_uris.retrieve`` gives it.

    ``framework`` is one of :data:`FRAMEWORKS` (any case); ``framework_version`` a version or
    alias the SDK knows (``1.7-1``, ``2.1``, ``2.13.0``); ``region`` an AWS region name;
    ``instance_type`` such as ``ml.m5.large`` (or ``local``/``local_gpu``). ``py_version`` picks
    among several Python versions (default: the newest).

    Raises :class:`~mimsreg.engine.errors.PlanError` naming the bad value and the valid choices when
    there is no such image.
    """
    name = _framework(framework)
    version = framework_version.strip()
    family = _instance_family(instance_type)
    if family.startswith("trn") and name != "pytorch":
        raise PlanError(f"Trainium instance type {instance_type!r} runs only pytorch, not {name}")
    if name == "pytorch" and (family.startswith("inf") or family.startswith("trn")):
        raise PlanError(
            f"instance type {instance_type!r} needs a pytorch Neuron image, which mimsreg does "
            "not resolve: choose a CPU or GPU instance type"
        )
    table = _table()
    graviton = family in table.graviton_families
    image = _resolve_image(name, version, _GRAVITON if graviton else _INFERENCE)

    account = image.registries.get(region)
    if account is None:
        raise PlanError(
            f"no {name} {version} inference image in region {region!r}: it is published in "
            f"{_listing(sorted(image.registries))}"
        )
    processor = _processor(name, version, instance_type, family, image.processors)
    python = _py_version(name, version, image, py_version)
    container_version = image.container_version.get(processor or "")
    if container_version and image.repository == f"{name}-inference-graviton":
        container_version = f"{container_version}-sagemaker"
    _check_not_deprecated(name, version, family)

    if name in _SINGLE_IMAGE_FRAMEWORKS and graviton:
        tag = table.arm64_tags.get(name, {}).get(version)
        if tag is None:
            raise PlanError(f"{name} {version!r} has no Graviton (arm64) inference image tag")
    else:
        parts = (image.tag_prefix or version, processor, python, container_version)
        tag = "-".join(part for part in parts if part)
        if name not in _SINGLE_IMAGE_FRAMEWORKS and family == "p4d":
            suffix = table.p4d_container_versions.get(f"{name}-{tag}")
            tag = f"{tag}-{suffix}" if suffix else tag

    dns_suffix = table.dns_suffix_by_region.get(region, table.default_dns_suffix)
    return f"{account}.dkr.ecr.{region}.{dns_suffix}/{image.repository}:{tag}"


def supported_versions(framework: str) -> list[str]:
    """Every version (and alias) of ``framework`` with an inference image, oldest first."""
    return _inference_scope(_framework(framework)).accepted()


def supported_regions(
    framework: str, version: str, *, instance_type: str | None = None
) -> list[str]:
    """The regions, sorted, where ``framework`` ``version`` has an inference image.

    With ``instance_type``, for that instance type's image (Graviton families have their own).
    """
    name = _framework(framework)
    graviton = instance_type is not None and (
        _instance_family(instance_type) in _table().graviton_families
    )
    image = _resolve_image(name, version.strip(), _GRAVITON if graviton else _INFERENCE)
    return sorted(image.registries)


def source_sdk_version() -> str:
    """The sagemaker SDK version the image table was generated from."""
    return _table().sagemaker_version
