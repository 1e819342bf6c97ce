"""The image-mirroring environment of ``mimsreg check --env image``.

For the configured framework and version: a virtualenv on the image's Python (found through pyenv,
or ``--python``), holding the framework and the serving packages at the versions the image pins.
It is built once (with network: pip and the package index, from the pins below only, never from
anything the model names) and cached by content under a cache folder: the key is a hash of the
interpreter's version and the pins, so the same inputs reuse the same folder and nothing else
does. Builders take a lock file; a folder without its completion marker is rebuilt. The model's
``code/requirements.txt`` goes on top, installed in the sandbox like any other (``run.py``).

The table below is taken from the containers' public sources (``docs/check.md`` names the files).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mimsreg.engine.spec import RegistrationSpec
from mimsreg.errors import BadInputError

__all__ = [
    "ENVS",
    "SERVING_IMAGES",
    "Environment",
    "EnvironmentChoice",
    "ServingImage",
    "choose_environment",
    "default_cache_dir",
    "ensure_environment",
    "environment_key",
    "find_python",
    "serving_facts",
]

ENVS = ("auto", "image", "current")
_FORMAT = 1  # bump when the way an environment is built changes: every key changes with it
_MARKER = ".mimsreg-env.json"

# The Flask stack the images pin (sagemaker-containers serves with Flask 1.1.1; Jinja2 >= 3.1 and
# itsdangerous >= 2.1 removed names Flask 1.1 imports, so they are pinned as the images pin them).
_FLASK_SK = ("Flask==1.1.1", "itsdangerous==2.0.1", "jinja2==3.0.3", "MarkupSafe==2.1.1")


@dataclass(frozen=True)
class ServingImage:
    """One SageMaker serving image: its Python and what it pins that a model can meet."""

    framework: str
    version: str
    python: str  # major.minor
    packages: tuple[str, ...]
    # How the image's single-model server calls the handlers: "containers" (sagemaker-containers'
    # Transformer under gunicorn: no context argument) or "toolkit" (sagemaker-inference).
    stack: str
    source: str

    @property
    def label(self) -> str:
        return f"{self.framework} {self.version}"


SERVING_IMAGES: dict[tuple[str, str], ServingImage] = {
    ("sklearn", "1.0-1"): ServingImage(
        "sklearn",
        "1.0-1",
        "3.8",
        (
            "scikit-learn==1.0.2",
            "numpy==1.24.1",
            "scipy==1.8.0",
            "pandas==1.1.3",
            "sagemaker-inference==1.2.0",
            "Werkzeug==0.15.6",
            *_FLASK_SK,
        ),
        "containers",
        "aws/sagemaker-scikit-learn-container, branch 1.0-1: requirements.txt, "
        "docker/1.0-1/base/Dockerfile.cpu (PYTHON_VERSION=3.8.13)",
    ),
    ("sklearn", "1.2-1"): ServingImage(
        "sklearn",
        "1.2-1",
        "3.9",
        (
            "scikit-learn==1.2.1",
            "numpy==1.24.1",
            "scipy==1.8.0",
            "pandas==1.1.3",
            "sagemaker-inference==1.2.0",
            "Werkzeug==2.0.3",
            *_FLASK_SK,
        ),
        "containers",
        "aws/sagemaker-scikit-learn-container, branch 1.2-1: requirements.txt, "
        "docker/1.2-1/base/Dockerfile.cpu (PYTHON_VERSION=3.9)",
    ),
    ("xgboost", "1.7-1"): ServingImage(
        "xgboost",
        "1.7-1",
        "3.9",
        (
            "xgboost==1.7.4",
            "numpy==1.24.1",
            "scipy==1.8.0",
            "pandas==1.2.4",
            "scikit-learn==0.24.1",
            "sagemaker-inference==1.5.5",
            "Flask==1.1.1",
            "Werkzeug==0.15.6",
            "itsdangerous==2.0.1",
            "jinja2==2.11.3",
            "MarkupSafe==1.1.1",
        ),
        "containers",
        "aws/sagemaker-xgboost-container, branch 1.7-1: requirements.txt, "
        "docker/1.7-1/base/Dockerfile.cpu (XGBOOST_VERSION=1.7.4; PYTHON_VERSION=3.9 since "
        "2024-10, 3.8 before)",
    ),
}


def serving_facts(spec: RegistrationSpec) -> dict[str, str]:
    """What the child needs to call the handlers as the configured image does."""
    image = SERVING_IMAGES.get((spec.framework, spec.framework_version))
    stack = "containers" if spec.framework in ("sklearn", "xgboost") else "toolkit"
    return {
        "framework": spec.framework,
        "image": f"{spec.framework} {spec.framework_version}",
        "stack": image.stack if image else stack,
    }


# --- the interpreter ----------------------------------------------------------------------------


def find_python(version: str) -> str | None:
    """The newest pyenv Python ``version`` (``3.9``) installed here, else ``python3.9`` on PATH."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates = [
        path
        for path in root.glob(f"versions/{version}.*/bin/python{version}")
        if path.name == f"python{version}" and os.access(path, os.X_OK)
    ]
    if candidates:
        return str(max(candidates, key=lambda path: _patch(path.parent.parent.name)))
    return shutil.which(f"python{version}")


def _patch(name: str) -> int:
    last = name.rsplit(".", 1)[-1]
    return int(last) if last.isdigit() else -1


def _python_version(python: str) -> str:
    """``3.9.18`` of an interpreter; bad input if it cannot be run."""
    try:
        result = subprocess.run(
            [python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BadInputError(f"cannot run the Python {python!r}: {exc}") from exc
    if result.returncode != 0:
        raise BadInputError(f"cannot run the Python {python!r}: exit {result.returncode}")
    return result.stdout.strip()


@dataclass(frozen=True)
class EnvironmentChoice:
    """Where the child runs: ``image`` (an environment built from ``image``) or ``current``."""

    kind: str
    python: str
    image: ServingImage | None = None
    note: str | None = None


def choose_environment(env: str, spec: RegistrationSpec, python: str | None) -> EnvironmentChoice:
    """Resolve ``--env`` and ``--python``: ``auto`` is ``image`` when the configured image is known
    and its Python is found (or given), else ``current``, saying why."""
    if env not in ENVS:
        raise BadInputError(f"--env must be one of {', '.join(ENVS)}, got {env!r}")
    if env == "current":
        return EnvironmentChoice("current", python or sys.executable)
    image = SERVING_IMAGES.get((spec.framework, spec.framework_version))
    label = f"{spec.framework} {spec.framework_version}"
    if image is None:
        known = ", ".join(sorted(f"{f} {v}" for f, v in SERVING_IMAGES))
        reason = f"no image environment for {label} (known: {known})"
        if env == "image":
            raise BadInputError(f"--env image: {reason}; use --env current")
        return EnvironmentChoice("current", python or sys.executable, note=f"{reason}: ran here")
    base = python or find_python(image.python)
    if base is None:
        reason = f"Python {image.python} (the {label} image's) is not installed"
        if env == "image":
            raise BadInputError(
                f"--env image: {reason}: pyenv install {image.python}, pass --python, "
                "or use --env current"
            )
        return EnvironmentChoice("current", sys.executable, note=f"{reason}: ran on this Python")
    return EnvironmentChoice("image", base, image)


# --- building and caching -----------------------------------------------------------------------


def default_cache_dir() -> Path:
    """``$MIMSREG_ENV_CACHE``, else ``$XDG_CACHE_HOME/mimsreg/envs`` (``~/.cache/mimsreg/envs``)."""
    configured = os.environ.get("MIMSREG_ENV_CACHE")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "mimsreg" / "envs"


def environment_key(image: ServingImage, python_version: str) -> str:
    """The content key of an environment (pure): same inputs, same folder."""
    document = {
        "format": _FORMAT,
        "image": image.label,
        "python": python_version,
        "packages": list(image.packages),
    }
    canonical = json.dumps(document, sort_keys=True).encode("utf-8")
    return hashlib.sha256(canonical).hexdigest()[:32]


@dataclass(frozen=True)
class Environment:
    """A built environment: its interpreter and whether this call built it (and how long)."""

    python: str
    root: Path
    key: str
    image: ServingImage
    built: bool
    seconds: float

    def describe(self) -> str:
        how = f"built in {self.seconds:.1f} s" if self.built else "cached"
        return f"ran in the {self.image.label} image environment ({how}: {self.root})"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def _pip(python: Path, args: Sequence[str], timeout: float, what: str) -> str | None:
    command = [str(python), "-m", "pip", "install", "--quiet", "--no-input", *args]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
    except subprocess.TimeoutExpired:
        return f"building the image environment: {what} took longer than {timeout:g} s; stopped"
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        errors = [line for line in lines if line.startswith("ERROR")] or lines
        last = errors[-1] if errors else "(no output)"
        return f"building the image environment: {what} failed (exit {result.returncode}): {last}"
    return None


def ensure_environment(
    image: ServingImage, base_python: str, cache_dir: Path, timeout: float
) -> Environment | str:
    """The environment of ``image`` on ``base_python``: from the cache, or built now. A string
    says why it could not be built."""
    version = _python_version(base_python)
    key = environment_key(image, version)
    root = cache_dir / f"{image.framework}-{image.version}-py{version}-{key}"
    python = root / "bin" / "python"
    started = time.monotonic()
    with _locked(cache_dir / f"{root.name}.lock"):
        if (root / _MARKER).is_file() and python.exists():
            return Environment(str(python), root, key, image, False, time.monotonic() - started)
        shutil.rmtree(root, ignore_errors=True)  # a build that was interrupted
        failure = _build(image, base_python, root, timeout)
        if failure is not None:
            shutil.rmtree(root, ignore_errors=True)
            return failure
        seconds = time.monotonic() - started
        marker = {
            "image": image.label,
            "python": version,
            "packages": list(image.packages),
            "seconds": round(seconds, 1),
        }
        (root / _MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
    return Environment(str(python), root, key, image, True, seconds)


def _build(image: ServingImage, base_python: str, root: Path, timeout: float) -> str | None:
    try:
        subprocess.run(
            [base_python, "-m", "venv", str(root)],
            capture_output=True,
            timeout=timeout,
            check=True,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"building the image environment: python -m venv failed: {exc}"
    if not image.packages:
        return None
    python = root / "bin" / "python"
    return _pip(python, image.packages, timeout, f"pip install of the {image.label} pins")
