"""Builders shared by tests: artifacts, manifests and plans made in code (no binary fixtures)."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mimsreg.config import ModelRegistrationConfig
from mimsreg.engine.package import PackageManifest, PackageMember
from mimsreg.engine.plan import RegistrationContext, RegistrationPlan, build_plan
from mimsreg.engine.spec import RegistrationSpec
from tests.conftest import SEED_EXAMPLE, TEST_BUCKET

INFERENCE_PY = b"def model_fn(model_dir):\n    return None\n"


def fake_image(framework: str, version: str, region: str, instance_type: str) -> str:
    """A deterministic stand-in for the image table, for tests of the plan's other parts."""
    return f"000000000000.dkr.ecr.{region}.amazonaws.com/{framework}:{version}-{instance_type}"


def write_model_archive(
    path: Path, weights: bytes = b"weights", entry_point: str = "inference.py"
) -> Path:
    """A small, valid SageMaker-style model.tar.gz; identical bytes for identical arguments."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in [("model.bin", weights), (f"code/{entry_point}", INFERENCE_PY)]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))
    import gzip

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return path


def manifest_for(path: Path, entry_point: str = "inference.py") -> PackageManifest:
    """A manifest of ``write_model_archive`` output, computed without the inspector."""
    data = path.read_bytes()
    return PackageManifest(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        compression="gzip",
        members=(PackageMember("model.bin", 7, "file"),),
        uncompressed_size=len(data),
        entry_point=f"code/{entry_point}",
        model_files=("model.bin",),
    )


def seed_spec(**changes: Any) -> RegistrationSpec:
    """The seed example's spec, with test buckets (moto) so every backend can take it."""
    return ModelRegistrationConfig(**{**SEED_EXAMPLE, "bucket": TEST_BUCKET, **changes}).to_spec()


def make_plan(
    artifact: Path,
    regions: list[str] | None = None,
    spec: RegistrationSpec | None = None,
    **changes: Any,
) -> RegistrationPlan:
    return build_plan(
        spec or seed_spec(**changes),
        manifest_for(artifact),
        regions,
        context=RegistrationContext(user="tester", host="test-host"),
        image_resolver=fake_image,
    )


def stored_files() -> list[Path]:
    """Every file of the default local inventory (``$MIMSREG_HOME``): database and artifacts."""
    from mimsreg.engine.inventory.local import default_home

    return sorted(p for p in default_home().rglob("*") if p.is_file())


def run_test_alone(test_file: str, name: str, env: Mapping[str, str]) -> str:
    """Run one test of ``test_file`` in a pytest of its own with ``env`` added to the
    environment (no coverage, skip reasons shown); its output. How a test that needs a system
    tool is shown to fail loudly, or skip only on request, when the tool is missing."""
    from tests.conftest import REPO_ROOT

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            f"{test_file}::{name}",
            "-p",
            "no:cacheprovider",
            "--no-cov",
            "-rs",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.stdout
