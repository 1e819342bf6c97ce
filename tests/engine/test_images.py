"""Inference image URIs without the sagemaker SDK: mimsreg.engine.images and its generated table."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from mimsreg.engine import images
from mimsreg.engine.spec import DEFAULT_FRAMEWORK_VERSIONS, Framework
from mimsreg.errors import BadInputError, PlanError
from tests.conftest import REPO_ROOT

# Every URI below was produced by the real SDK once, not derived from mimsreg: in a throwaway
# virtualenv (`python3 -m venv /tmp/sm && /tmp/sm/bin/pip install 'sagemaker<3'`, which installed
# sagemaker 2.257.7 with botocore 1.44.8, the version the table was generated from) by
#     sagemaker.image_uris.retrieve(framework, region, version, instance_type=instance_type,
#                                   image_scope="inference")
# (with py_version="py36" for pytorch 1.6 and 1.8.1, which have two Python versions).
# The same venv also ran a sweep of 77,616 combinations (4 frameworks x every version and alias x 42
# regions + 2 unknown x 12 instance types) against mimsreg.engine.images: every one of the 42,855
# URIs both produced was identical; every combination the SDK refuses, mimsreg refuses too; mimsreg
# also refuses 715 the SDK answers with a different image than asked for (sklearn on Graviton, which
# the SDK turns into sklearn 1.0-1, and pytorch on Trainium, a Neuron training image).
SDK_VERIFIED: list[tuple[str, str, str, str, str]] = [
    # framework, version, region, instance type, URI from sagemaker 2.257.7
    ("xgboost", "1.7-1", "us-east-1", "ml.m5.large",
     "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"),
    ("xgboost", "1.7-1", "eu-west-1", "ml.m5.large",
     "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"),
    ("xgboost", "1.7-1", "ap-southeast-2", "ml.m5.large",
     "783357654285.dkr.ecr.ap-southeast-2.amazonaws.com/sagemaker-xgboost:1.7-1"),
    ("xgboost", "1.7-1", "cn-north-1", "ml.m5.large",
     "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1"),
    ("xgboost", "1.7-1", "cn-northwest-1", "ml.m5.large",
     "451049120500.dkr.ecr.cn-northwest-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1"),
    ("xgboost", "1.7-1", "us-gov-west-1", "ml.m5.large",
     "414596584902.dkr.ecr.us-gov-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"),
    ("xgboost", "1.7-1", "us-iso-east-1", "ml.m5.large",
     "833128469047.dkr.ecr.us-iso-east-1.c2s.ic.gov/sagemaker-xgboost:1.7-1"),
    ("xgboost", "1.7-1", "us-east-1", "ml.g5.xlarge",
     "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"),
    ("xgboost", "1.7-1", "eu-west-1", "ml.p3.2xlarge",
     "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"),
    ("xgboost", "3.0-5", "us-west-2", "ml.m5.large",
     "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:3.0-5"),
    ("xgboost", "1.5-1", "us-east-1", "ml.c7g.xlarge",
     "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1-arm64"),
    ("xgboost", "1.0-1", "us-east-1", "ml.m5.large",
     "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3"),
    ("xgboost", "latest", "us-east-1", "ml.m5.large",
     "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest"),
    ("sklearn", "1.2-1", "us-east-1", "ml.m5.large",
     "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"),
    ("sklearn", "1.2-1", "eu-west-1", "ml.m5.large",
     "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"),
    ("sklearn", "1.2-1", "ap-southeast-2", "ml.m5.large",
     "783357654285.dkr.ecr.ap-southeast-2.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"),
    ("sklearn", "1.2-1", "cn-north-1", "ml.m5.large",
     "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-scikit-learn:1.2-1-cpu-py3"),
    ("sklearn", "1.2-1", "us-gov-west-1", "ml.m5.large",
     "414596584902.dkr.ecr.us-gov-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"),
    ("sklearn", "1.2-1", "us-iso-east-1", "ml.m5.large",
     "833128469047.dkr.ecr.us-iso-east-1.c2s.ic.gov/sagemaker-scikit-learn:1.2-1-cpu-py3"),
    ("sklearn", "1.0-1", "eu-west-1", "ml.m6g.large",
     "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.0-1-arm64-cpu-py3"),
    ("pytorch", "2.1", "us-east-1", "ml.m5.large",
     "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1-cpu-py310"),
    ("pytorch", "2.1", "eu-west-1", "ml.m5.large",
     "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.1-cpu-py310"),
    ("pytorch", "2.1", "ap-southeast-2", "ml.m5.large",
     "763104351884.dkr.ecr.ap-southeast-2.amazonaws.com/pytorch-inference:2.1-cpu-py310"),
    ("pytorch", "2.1", "cn-northwest-1", "ml.m5.large",
     "727897471807.dkr.ecr.cn-northwest-1.amazonaws.com.cn/pytorch-inference:2.1-cpu-py310"),
    ("pytorch", "2.1", "us-gov-west-1", "ml.m5.large",
     "442386744353.dkr.ecr.us-gov-west-1.amazonaws.com/pytorch-inference:2.1-cpu-py310"),
    ("pytorch", "2.1", "us-iso-east-1", "ml.m5.large",
     "886529160074.dkr.ecr.us-iso-east-1.c2s.ic.gov/pytorch-inference:2.1-cpu-py310"),
    ("pytorch", "2.1", "us-east-1", "ml.g5.xlarge",
     "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1-gpu-py310"),
    ("pytorch", "2.1.0", "us-east-1", "ml.p3.2xlarge",
     "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-gpu-py310"),
    ("pytorch", "2.1", "eu-west-1", "ml.c7g.xlarge",
     "763104351884.dkr.ecr.eu-west-1.amazonaws.com/"
     "pytorch-inference-graviton:2.1-cpu-py310-ubuntu20.04-sagemaker"),
    ("pytorch", "1.6", "us-east-1", "ml.p4d.24xlarge",
     "763104351884.dkr.ecr.us-east-1.amazonaws.com/"
     "pytorch-inference:1.6-gpu-py36-cu110-ubuntu18.04-v3"),
    ("pytorch", "1.8.1", "us-east-1", "ml.m5.large",
     "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:1.8.1-cpu-py36"),
    ("pytorch", "2.6", "us-east-1", "local_gpu",
     "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6-gpu-py312"),
    ("tensorflow", "2.13", "us-east-1", "ml.m5.large",
     "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference:2.13-cpu"),
    ("tensorflow", "2.13", "eu-west-1", "ml.m5.large",
     "763104351884.dkr.ecr.eu-west-1.amazonaws.com/tensorflow-inference:2.13-cpu"),
    ("tensorflow", "2.13", "ap-southeast-2", "ml.m5.large",
     "763104351884.dkr.ecr.ap-southeast-2.amazonaws.com/tensorflow-inference:2.13-cpu"),
    ("tensorflow", "2.13", "cn-north-1", "ml.m5.large",
     "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/tensorflow-inference:2.13-cpu"),
    ("tensorflow", "2.13", "us-gov-west-1", "ml.m5.large",
     "442386744353.dkr.ecr.us-gov-west-1.amazonaws.com/tensorflow-inference:2.13-cpu"),
    ("tensorflow", "2.13", "us-east-1", "ml.g5.xlarge",
     "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference:2.13-gpu"),
    ("tensorflow", "2.13.0", "us-gov-west-1", "ml.g4dn.xlarge",
     "442386744353.dkr.ecr.us-gov-west-1.amazonaws.com/tensorflow-inference:2.13.0-gpu"),
    ("tensorflow", "2.16", "ap-southeast-2", "ml.c7g.xlarge",
     "763104351884.dkr.ecr.ap-southeast-2.amazonaws.com/"
     "tensorflow-inference-graviton:2.16-cpu-py310-ubuntu20.04-sagemaker"),
    ("tensorflow", "1.15", "us-east-1", "ml.p4d.24xlarge",
     "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference:1.15-gpu"),
    ("tensorflow", "2.19", "us-east-1", "local",
     "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference:2.19-cpu"),
]  # fmt: skip

TWO_PYTHONS = {("pytorch", "1.6"), ("pytorch", "1.8.1")}  # the SDK needs py_version for these
COMMON_REGIONS = ["us-east-1", "eu-west-1", "us-west-2"]
MORE_REGIONS = ["us-east-2", "eu-central-1", "ap-southeast-1", "ap-northeast-1", "cn-north-1"]


@pytest.mark.parametrize(("framework", "version", "region", "instance_type", "uri"), SDK_VERIFIED)
def test_uri_matches_the_sagemaker_sdk(
    framework: str, version: str, region: str, instance_type: str, uri: str
) -> None:
    """The URI is the one sagemaker.image_uris.retrieve returned (see the note above)."""
    assert images.inference_image_uri(framework, version, region, instance_type) == uri


def test_china_regions_use_the_china_domain() -> None:
    """Hosts in cn-* regions end in amazonaws.com.cn, like the SDK's botocore-built host."""
    for framework, version in (("xgboost", "1.7-1"), ("pytorch", "2.1")):
        for region in ("cn-north-1", "cn-northwest-1"):
            uri = images.inference_image_uri(framework, version, region, "ml.m5.large")
            assert f".dkr.ecr.{region}.amazonaws.com.cn/" in uri


def test_python_version_can_be_chosen() -> None:
    """Where an image has several Python versions the newest is the default; py_version picks."""
    chosen = images.inference_image_uri(
        "pytorch", "1.8.1", "us-east-1", "ml.m5.large", py_version="py3"
    )
    # Verified with the SDK too: retrieve(..., py_version="py3").
    assert chosen == "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:1.8.1-cpu-py3"
    with pytest.raises(PlanError, match=r"'py27'.*py3, py36"):
        images.inference_image_uri(
            "pytorch", "1.8.1", "us-east-1", "ml.m5.large", py_version="py27"
        )


def test_framework_name_is_case_insensitive() -> None:
    """'XGBoost' names the same image as 'xgboost', as the Framework enum accepts any case."""
    assert images.inference_image_uri(
        "XGBoost", "1.7-1", "us-east-1", "ml.m5.large"
    ) == images.inference_image_uri("xgboost", "1.7-1", "us-east-1", "ml.m5.large")


@pytest.mark.parametrize("framework", list(Framework))
@pytest.mark.parametrize("region", COMMON_REGIONS + MORE_REGIONS)
def test_every_default_version_resolves(framework: Framework, region: str) -> None:
    """The configuration's default version of each framework names a real inference image."""
    version = DEFAULT_FRAMEWORK_VERSIONS[framework]
    uri = images.inference_image_uri(framework.value, version, region, "ml.m5.large")
    assert f".dkr.ecr.{region}." in uri
    assert uri.split(":")[-1].startswith(version)
    assert region in images.supported_regions(framework.value, version)


def test_unknown_framework_names_the_value() -> None:
    """The message quotes the framework and lists the four known ones."""
    with pytest.raises(PlanError, match=r"'mxnet'.*xgboost, sklearn, pytorch, tensorflow"):
        images.inference_image_uri("mxnet", "1.9", "us-east-1", "ml.m5.large")
    with pytest.raises(PlanError, match="'mxnet'"):
        images.supported_versions("mxnet")


def test_unknown_version_names_the_value_and_the_choices() -> None:
    """A version of another framework (the original's mistake) is refused, listing real ones."""
    with pytest.raises(PlanError) as caught:
        images.inference_image_uri("xgboost", "2.1", "us-east-1", "ml.m5.large")
    message = str(caught.value)
    assert "'2.1'" in message
    assert "1.7-1" in message
    assert isinstance(caught.value, BadInputError)


def test_long_version_lists_are_shortened_to_the_newest() -> None:
    """tensorflow has about 80 versions and aliases: the message keeps the newest 20."""
    with pytest.raises(PlanError) as caught:
        images.inference_image_uri("tensorflow", "9.9", "us-east-1", "ml.m5.large")
    message = str(caught.value)
    assert re.search(r"\(\d+ older\)", message)
    assert "2.19" in message
    assert "1.4.1" not in message


def test_unknown_region_names_the_value_and_the_regions() -> None:
    """A region the image is not published in is refused, listing (some of) the regions."""
    with pytest.raises(PlanError) as caught:
        images.inference_image_uri("sklearn", "1.2-1", "mars-east-1", "ml.m5.large")
    message = str(caught.value)
    assert "'mars-east-1'" in message
    assert "af-south-1" in message
    assert re.search(r"and \d+ more", message)


def test_a_region_code_is_not_a_region() -> None:
    """Legacy codes (NA, EU, FE) are normalised upstream (mimsreg.engine.spec), not guessed."""
    with pytest.raises(PlanError, match="'NA'"):
        images.inference_image_uri("xgboost", "1.7-1", "NA", "ml.m5.large")


@pytest.mark.parametrize(
    ("framework", "version", "instance_type", "pattern"),
    [
        ("sklearn", "1.2-1", "ml.p3.2xlarge", r"no GPU inference image.*'ml\.p3\.2xlarge'"),
        ("sklearn", "1.2-1", "local_gpu", r"no GPU inference image"),
        ("tensorflow", "2.13", "ml.inf1.xlarge", r"no INF inference image.*'ml\.inf1\.xlarge'"),
        ("xgboost", "1.7-1", "ml.trn1.2xlarge", r"Trainium.*'ml\.trn1\.2xlarge'.*xgboost"),
        ("pytorch", "2.1", "ml.inf2.xlarge", r"'ml\.inf2\.xlarge' needs a pytorch Neuron image"),
        ("pytorch", "2.1", "ml.trn1.2xlarge", r"Neuron"),
        ("sklearn", "1.2-1", "ml.c7g.xlarge", r"'1\.2-1' has no Graviton.*1\.0-1"),
        ("xgboost", "1.7-1", "ml.m6g.large", r"'1\.7-1' has no Graviton.*1\.3-1, 1\.5-1"),
        ("pytorch", "2.6", "ml.c7g.xlarge", r"'2\.6' has no Graviton.*2\.4"),
        ("tensorflow", "2.13", "ml.p2.xlarge", r"p2 instances are deprecated"),
        ("pytorch", "1.13", "ml.p2.xlarge", r"p2 instances are deprecated"),
        ("xgboost", "1.7-1", "m5.large", r"invalid SageMaker instance type 'm5\.large'"),
        ("xgboost", "1.7-1", "", r"invalid SageMaker instance type ''"),
    ],
)
def test_unsupported_instance_types_are_refused(
    framework: str, version: str, instance_type: str, pattern: str
) -> None:
    """An instance type the image cannot serve is a PlanError, never another image's URI."""
    with pytest.raises(PlanError, match=pattern):
        images.inference_image_uri(framework, version, "us-east-1", instance_type)


def test_xgboost_arm64_tags_exist_only_for_some_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Graviton xgboost version without an arm64 tag in the table is refused, not guessed."""
    table = dataclasses.replace(images._table(), arm64_tags={"xgboost": {"1.3-1": "1.3-1-arm64"}})
    monkeypatch.setattr(images, "_table", lambda: table)
    with pytest.raises(PlanError, match=r"'1\.5-1' has no Graviton \(arm64\)"):
        images.inference_image_uri("xgboost", "1.5-1", "us-east-1", "ml.c7g.xlarge")


def test_p2_is_still_fine_for_older_versions() -> None:
    """The p2 deprecation starts at pytorch 1.13 and tensorflow 2.12, as in the SDK."""
    uri = images.inference_image_uri("pytorch", "1.12", "us-east-1", "ml.p2.xlarge")
    assert uri.endswith("pytorch-inference:1.12-gpu-py38")


def test_supported_versions_lists_versions_and_aliases_in_order() -> None:
    """Aliases are accepted versions too; the list is in natural version order."""
    versions = images.supported_versions("pytorch")
    assert {"2.1", "2.1.0", "1.10", "1.9"} <= set(versions)
    assert versions.index("1.9") < versions.index("1.10") < versions.index("2.1")
    assert images.supported_versions("Sklearn") == ["0.20.0", "0.23-1", "1.0-1", "1.2-1"]


def test_supported_regions_depend_on_the_instance_type() -> None:
    """Graviton images are published in fewer regions than the x86 ones."""
    x86 = images.supported_regions("pytorch", "2.1")
    graviton = images.supported_regions("pytorch", "2.1", instance_type="ml.c7g.xlarge")
    assert x86 == sorted(x86)
    assert "us-iso-east-1" in x86
    assert "us-iso-east-1" not in graviton
    assert set(graviton) < set(x86)
    with pytest.raises(PlanError, match=r"'0\.1'"):
        images.supported_regions("xgboost", "0.1")


def test_table_names_its_source() -> None:
    """The generated table records the SDK it came from and says how to regenerate it."""
    assert images.source_sdk_version().startswith("2.")
    raw = json.loads(
        (REPO_ROOT / "src/mimsreg/engine/data/images.json").read_text(encoding="utf-8")
    )
    assert "scripts/gen_image_table.py" in raw["about"]
    assert raw["sagemaker_version"] in raw["about"]


def test_matches_the_installed_sdk_when_there_is_one() -> None:
    """If the sagemaker SDK the table came from happens to be installed, compare with it live."""
    sagemaker = pytest.importorskip("sagemaker", reason="sagemaker SDK not installed")
    if sagemaker.__version__ != images.source_sdk_version():
        pytest.skip(f"installed sagemaker {sagemaker.__version__} is not the table's source")
    from sagemaker import image_uris

    for framework, version, region, instance_type, uri in SDK_VERIFIED:
        py_version = "py36" if (framework, version) in TWO_PYTHONS else None
        live = image_uris.retrieve(
            framework,
            region,
            version,
            py_version=py_version,
            instance_type=instance_type,
            image_scope="inference",
        )
        assert live == uri


# --- runs where the processing job runs ------------------------------------------------------

PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
from mimsreg.engine.images import inference_image_uri
from mimsreg.errors import PlanError
print(inference_image_uri("pytorch", "2.1", "cn-north-1", "ml.g5.xlarge"))
try:
    inference_image_uri("xgboost", "9", "us-east-1", "ml.m5.large")
except PlanError as exc:
    print("PlanError", "'9'" in str(exc))
print(sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore", "sagemaker")))
"""
PROBE_OUTPUT = [
    "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/pytorch-inference:2.1-gpu-py310",
    "PlanError True",
    "[]",
]


def _zip_of_package(tmp_path: Path) -> Path:
    """mimsreg's source, data file included, as a zip on sys.path (as zipapps ship it)."""
    archive = tmp_path / "mimsreg.zip"
    package = REPO_ROOT / "src" / "mimsreg"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, path.relative_to(package.parent).as_posix())
    return archive


def _run(interpreter: str, path: Path) -> list[str]:
    result = subprocess.run(
        [interpreter, "-I", "-c", PROBE, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_works_on_python_39_with_only_the_standard_library(python39: str) -> None:
    """The processing job's Python 3.9 (isolated: no site-packages) resolves images and errors."""
    assert _run(python39, REPO_ROOT / "src") == PROBE_OUTPUT


def test_reads_its_table_from_a_zip(tmp_path: Path, python39: str) -> None:
    """The table is package data read through importlib.resources, so a zipped package works."""
    archive = _zip_of_package(tmp_path)
    assert _run(sys.executable, archive) == PROBE_OUTPUT
    assert _run(python39, archive) == PROBE_OUTPUT


# --- the generator ---------------------------------------------------------------------------


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_image_table", REPO_ROOT / "scripts" / "gen_image_table.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_wheel(tmp_path: Path, xgboost_inference: dict[str, object]) -> Path:
    """A stand-in sagemaker wheel with the files the generator reads, built in code."""
    registries = {"us-east-1": "111111111111", "cn-north-1": "222222222222"}
    simple = {
        "inference": {
            "versions": {"1.0": {"registries": registries, "repository": "demo-inference"}}
        }
    }
    wheel = tmp_path / "sagemaker-2.999.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("sagemaker-2.999.0.dist-info/METADATA", "Name: sagemaker\nVersion: 2.999.0\n")
        zf.writestr(
            "sagemaker/image_uri_config/xgboost.json", json.dumps({"inference": xgboost_inference})
        )
        for framework in ("sklearn", "pytorch", "tensorflow"):
            zf.writestr(f"sagemaker/image_uri_config/{framework}.json", json.dumps(simple))
        zf.writestr(
            "sagemaker/image_uris.py",
            "def _get_image_tag():\n"
            "    version_to_arm64_tag_mapping = {'xgboost': {'1.5-1': '1.5-1-arm64'}}\n"
            "    container_versions = {'pytorch-1.6-gpu-py3': 'cu110-ubuntu18.04-v3'}\n",
        )
        zf.writestr("sagemaker/fw_utils.py", "GRAVITON_ALLOWED_TARGET_INSTANCE_FAMILY = ['c7g']\n")
    return wheel


def test_generator_builds_a_table_images_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a (stand-in) wheel the generator writes a table mimsreg.engine.images resolves from."""
    generator = _load_generator()
    xgboost = {
        "version_aliases": {"latest": "1.7-1"},
        "versions": {
            "1.7-1": {
                "registries": {"us-east-1": "333333333333", "cn-north-1": "444444444444"},
                "repository": "sagemaker-xgboost",
            }
        },
    }
    output = tmp_path / "images.json"
    assert generator.main(["--wheel", str(_fake_wheel(tmp_path, xgboost)), "-o", str(output)]) == 0
    text = output.read_text(encoding="utf-8")
    table = json.loads(text)
    assert table["sagemaker_version"] == "2.999.0"
    assert table["dns_suffixes"] == {"amazonaws.com.cn": ["cn-north-1"]}
    assert table["graviton_families"] == ["c7g"]

    monkeypatch.setattr(images, "_table", lambda: images._parse_table(table))
    assert (
        images.inference_image_uri("xgboost", "latest", "cn-north-1", "ml.m5.large")
        == "444444444444.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:latest"
    )
    # --check compares without writing.
    check = ["--wheel", str(tmp_path / "sagemaker-2.999.0-py3-none-any.whl"), "-o", str(output)]
    assert generator.main([*check, "--check"]) == 0
    output.write_text(text + " ", encoding="utf-8")
    assert generator.main([*check, "--check"]) == 1


def test_generator_stops_on_a_layout_it_does_not_know(tmp_path: Path) -> None:
    """A newer SDK layout (here a nested per-Python entry) stops the generator, naming it."""
    generator = _load_generator()
    nested = {"versions": {"9.9": {"py3": {"registries": {}, "repository": "x"}}}}
    with pytest.raises(SystemExit, match=r"xgboost/inference/9\.9: unsupported layout"):
        generator.build_table(_fake_wheel(tmp_path, nested))
