"""Generate src/mimsreg/engine/data/images.json: inference image facts for mimsreg.engine.images.

Dev-time only. Reads the SageMaker Python SDK v2's bundled image configuration
(``sagemaker/image_uri_config/{xgboost,sklearn,pytorch,tensorflow}.json``) straight out of a
sagemaker wheel, read as a zip (nothing is installed), plus the few facts the SDK keeps in code
(Graviton instance families, the arm64 tags of xgboost/sklearn, the p4d container suffixes), and
writes the compact table :mod:`mimsreg.engine.images` reads. ECR host
names come from botocore's endpoint
data, exactly as the SDK builds them (``ecr.{region}.{partition dnsSuffix}``).

Usage::

    python scripts/gen_image_table.py            # pip-downloads sagemaker==2.* into a temp dir
    python scripts/gen_image_table.py --wheel sagemaker-2.257.7-py3-none-any.whl
    python scripts/gen_image_table.py --check    # exit 1 if the committed table differs

Only the inference scopes (``inference`` and ``inference_graviton``) are kept.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

FRAMEWORKS = ("xgboost", "sklearn", "pytorch", "tensorflow")
SCOPES = ("inference", "inference_graviton")
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "src" / "mimsreg" / "engine" / "data" / "images.json"
# The keys of a version entry this generator (and mimsreg.engine.images) understands. Anything
# else in a newer SDK (a nested per-Python-version layout, ...) stops the generator instead of
# being dropped.
VERSION_KEYS = {
    "registries",
    "repository",
    "processors",
    "py_versions",
    "container_version",
    "tag_prefix",
}
SCOPE_KEYS = {"versions", "processors", "version_aliases"}
DEFAULT_DNS_SUFFIX = "amazonaws.com"


def fetch_wheel(spec: str, into: Path) -> Path:
    """Download the sagemaker wheel (no dependencies, no install) and return its path."""
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"),
            *("--only-binary=:all:", "--dest", str(into), spec),
        ],
        check=True,
    )
    wheels = sorted(into.glob("sagemaker-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one sagemaker wheel in {into}, found {wheels}")
    return wheels[0]


def wheel_version(wheel: zipfile.ZipFile) -> str:
    """The sagemaker version recorded in the wheel's METADATA."""
    for name in wheel.namelist():
        if name.endswith(".dist-info/METADATA"):
            for line in wheel.read(name).decode("utf-8").splitlines():
                if line.startswith("Version: "):
                    return line.split(": ", 1)[1].strip()
    raise SystemExit("no METADATA with a Version in the wheel")


def literal_assigned(source: str, name: str) -> Any:
    """The literal value assigned to ``name`` anywhere in ``source`` (module or function body)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    return ast.literal_eval(node.value)
    raise SystemExit(f"{name} not found: the SDK changed; update scripts/gen_image_table.py")


def ecr_dns_suffixes(regions: set[str]) -> tuple[dict[str, list[str]], str]:
    """Regions whose ECR host is not ``ecr.{region}.amazonaws.com``, by DNS suffix."""
    import botocore
    import botocore.loaders
    import botocore.regions

    # The SDK: utils._botocore_resolver().construct_endpoint("ecr", region)["hostname"].
    resolver = botocore.regions.EndpointResolver(
        botocore.loaders.create_loader().load_data("endpoints")
    )
    special: dict[str, list[str]] = {}
    for region in sorted(regions):
        endpoint = resolver.construct_endpoint("ecr", region)
        if not endpoint:
            if region != "il-central-1":  # the SDK's own fallback for old botocore
                raise SystemExit(f"botocore knows no ECR endpoint for {region!r}")
            endpoint = {"hostname": f"ecr.{region}.{DEFAULT_DNS_SUFFIX}"}
        hostname = endpoint["hostname"]
        prefix = f"ecr.{region}."
        if not hostname.startswith(prefix):
            raise SystemExit(f"unexpected ECR host name {hostname!r} for {region!r}")
        suffix = hostname[len(prefix) :]
        if suffix != DEFAULT_DNS_SUFFIX:
            special.setdefault(suffix, []).append(region)
    return special, botocore.__version__


class RegistryPool:
    """Deduplicates the region → account maps (most versions share one)."""

    def __init__(self) -> None:
        self.maps: list[dict[str, str]] = []
        self._index: dict[str, int] = {}

    def add(self, registries: dict[str, str]) -> int:
        key = json.dumps(registries, sort_keys=True)
        if key not in self._index:
            self._index[key] = len(self.maps)
            self.maps.append(dict(sorted(registries.items())))
        return self._index[key]


def compact_scope(framework: str, scope: str, config: dict[str, Any], pool: RegistryPool) -> Any:
    unknown = set(config) - SCOPE_KEYS
    if unknown:
        raise SystemExit(f"{framework}/{scope}: unknown scope keys {sorted(unknown)}")
    versions: dict[str, Any] = {}
    for version, entry in config["versions"].items():
        unknown = set(entry) - VERSION_KEYS
        if unknown or "repository" not in entry:
            raise SystemExit(f"{framework}/{scope}/{version}: unsupported layout {sorted(entry)}")
        compact: dict[str, Any] = {
            "repository": entry["repository"],
            "registries": pool.add(entry["registries"]),
        }
        for key in ("processors", "py_versions", "container_version", "tag_prefix"):
            if entry.get(key):
                compact[key] = entry[key]
        versions[version] = compact
    result: dict[str, Any] = {"versions": versions}
    if config.get("processors"):
        result["processors"] = config["processors"]
    if config.get("version_aliases"):
        result["aliases"] = config["version_aliases"]
    return result


def build_table(wheel_path: Path) -> dict[str, Any]:
    """The compact table from one sagemaker wheel."""
    with zipfile.ZipFile(wheel_path) as wheel:
        sdk_version = wheel_version(wheel)
        if not sdk_version.startswith("2."):
            raise SystemExit(f"expected a sagemaker 2.x wheel, got {sdk_version}")
        configs = {
            fw: json.loads(wheel.read(f"sagemaker/image_uri_config/{fw}.json")) for fw in FRAMEWORKS
        }
        image_uris = wheel.read("sagemaker/image_uris.py").decode("utf-8")
        fw_utils = wheel.read("sagemaker/fw_utils.py").decode("utf-8")

    pool = RegistryPool()
    frameworks: dict[str, Any] = {}
    regions: set[str] = set()
    for fw in FRAMEWORKS:
        frameworks[fw] = {}
        for scope in SCOPES:
            if scope not in configs[fw]:
                continue
            frameworks[fw][scope] = compact_scope(fw, scope, configs[fw][scope], pool)
            for entry in configs[fw][scope]["versions"].values():
                regions.update(entry["registries"])
    dns_suffixes, botocore_version = ecr_dns_suffixes(regions)
    return {
        "about": (
            f"Generated by scripts/gen_image_table.py from sagemaker {sdk_version} "
            "(sagemaker/image_uri_config/{xgboost,sklearn,pytorch,tensorflow}.json, inference "
            f"scopes; image_uris.py; fw_utils.py) and botocore {botocore_version} (ECR host "
            "names). Do not edit by hand: re-run the script."
        ),
        "sagemaker_version": sdk_version,
        "botocore_version": botocore_version,
        "default_dns_suffix": DEFAULT_DNS_SUFFIX,
        "dns_suffixes": dns_suffixes,
        "graviton_families": literal_assigned(fw_utils, "GRAVITON_ALLOWED_TARGET_INSTANCE_FAMILY"),
        "arm64_tags": literal_assigned(image_uris, "version_to_arm64_tag_mapping"),
        "p4d_container_versions": literal_assigned(image_uris, "container_versions"),
        "registries": pool.maps,
        "frameworks": frameworks,
    }


def render(table: dict[str, Any]) -> str:
    """Stable, diff-friendly JSON: a container goes on one line when it is short or a leaf."""

    def dump(value: Any, indent: int) -> str:
        flat = json.dumps(value, sort_keys=True)
        if not isinstance(value, (dict, list)) or not value:
            return flat
        children = value.values() if isinstance(value, dict) else value
        is_leaf = not any(isinstance(child, (dict, list)) for child in children)
        if is_leaf or len(flat) + indent <= 100:
            return flat
        pad = " " * (indent + 1)
        if isinstance(value, dict):
            items = [
                f"{pad}{json.dumps(k)}: {dump(v, indent + 1)}" for k, v in sorted(value.items())
            ]
            return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
        items = [f"{pad}{dump(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"

    return dump(table, 0) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help="a sagemaker 2.x wheel (default: download one)")
    parser.add_argument("--sagemaker", default="sagemaker==2.*", help="pip spec to download")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="compare with --output, write nothing")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(args.sagemaker, Path(tmp))
        text = render(build_table(wheel))
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: re-run scripts/gen_image_table.py")
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text.encode('utf-8'))} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
