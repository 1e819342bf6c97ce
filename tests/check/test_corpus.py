"""The corpus (tests/support/corpus.py) through ``check``, in the image-mirroring environment and in
this Python: every convention passes for scikit-learn, XGBoost and a plain-Python model.

Image environments are built once per test session (a few minutes of downloads, the first time)
in a session-scoped cache folder, or in ``$MIMSREG_ENV_CACHE`` when set, which keeps them across
sessions.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

from mimsreg.check import check_model
from mimsreg.check.environment import SERVING_IMAGES, ensure_environment, find_python
from mimsreg.config import ModelRegistrationConfig
from mimsreg.engine.payload import PayloadSample, generate_samples
from mimsreg.engine.spec import RegistrationSpec
from tests.support import corpus
from tests.support.cli import invoke
from tests.support.models import pack


@pytest.fixture(scope="session")
def env_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's image environments are built, once each."""
    configured = os.environ.get("MIMSREG_ENV_CACHE")
    return Path(configured) if configured else tmp_path_factory.mktemp("envs")


def image_python(framework: str, cache: Path) -> str:
    """The interpreter of the framework's image environment (built on first use)."""
    image = SERVING_IMAGES[corpus.IMAGES[framework]]
    base = find_python(image.python)
    if base is None:
        pytest.skip(f"no Python {image.python} here (pyenv install {image.python})")
    built = ensure_environment(image, base, cache, 900)
    assert not isinstance(built, str), built
    return built.python


def spec_of(framework: str) -> RegistrationSpec:
    return ModelRegistrationConfig(**corpus.config(framework)).to_spec()


def payload(spec: RegistrationSpec) -> list[PayloadSample]:
    """Three CSV records (not one: the scikit-learn image's decoder squeezes one row to 1-D)."""
    records = generate_samples(spec, rows=3)[0].records
    return [PayloadSample("three.csv", "text/csv", corpus.CSV_BODY, records)]


def corpus_model(tmp_path: Path, framework: str, convention: str, python: str) -> Path:
    folder = tmp_path / f"{framework}-{convention}"
    corpus.train(python, framework, folder)
    code = folder / "code"
    code.mkdir()
    (code / "inference.py").write_text(corpus.script(framework, convention))
    return pack(folder, tmp_path / f"{framework}-{convention}.tar.gz")


def current_python_has(framework: str, convention: str) -> None:
    needs = {"sklearn": ["sklearn", "joblib"], "xgboost": ["xgboost"], "plain": ["numpy"]}[
        framework
    ]
    needs += ["flask"] if convention == "flask_response" else []
    for module in needs:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed in this Python (the dev extra brings it)")


@pytest.mark.slow
@pytest.mark.parametrize("convention", sorted(corpus.CONVENTIONS))
@pytest.mark.parametrize("framework", corpus.FRAMEWORKS)
def test_corpus_passes_in_the_image_environment(
    tmp_path: Path, env_cache: Path, framework: str, convention: str
) -> None:
    """Each convention passes on the image's Python, framework and toolkit versions."""
    python = image_python(framework, env_cache)
    spec = spec_of(framework)
    model = corpus_model(tmp_path, framework, convention, python)
    report = check_model(model, spec, payload(spec), env="image", cache_dir=env_cache)
    assert report.passed, report.to_dict()
    assert any("image environment (cached" in note for note in report.notes), report.notes
    scores = _scores(report.samples[0].response_preview or "")
    assert len(scores) == 3
    assert all(isinstance(value, float) for value in scores)


@pytest.mark.parametrize("convention", sorted(corpus.CONVENTIONS))
@pytest.mark.parametrize("framework", corpus.FRAMEWORKS)
def test_corpus_passes_in_this_python(tmp_path: Path, framework: str, convention: str) -> None:
    """The same scripts, trained and checked on this Python with what it has installed."""
    current_python_has(framework, convention)
    spec = spec_of(framework)
    model = corpus_model(tmp_path, framework, convention, sys.executable)
    report = check_model(model, spec, payload(spec), env="current")
    assert report.passed, report.to_dict()
    assert len(_scores(report.samples[0].response_preview or "")) == 3


def _scores(preview: str) -> list[float]:
    """The three scores of any of the corpus's JSON shapes: flat, rows, or objects."""
    document = json.loads(preview)
    return [
        row["score"] if isinstance(row, dict) else row[0] if isinstance(row, list) else row
        for row in document
    ]


@pytest.mark.slow
def test_register_check_install_requirements_in_the_image_environment(
    tmp_path: Path, env_cache: Path
) -> None:
    """`register --check --install-requirements --env image`: the requirement (a wheel from a
    wheelhouse, installed in the sandbox on top of the image environment) is imported by the
    script, and the model is registered; without the option the check fails and says so."""
    from tests.check.test_check import build_wheel

    python = image_python("plain", env_cache)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    build_wheel(wheels, "cornerstone", "OFFSET = 0.0\n")
    folder = tmp_path / "m"
    corpus.train(python, "plain", folder)
    (folder / "code").mkdir()
    script = corpus.script("plain", "model_fn_only").replace(
        "import json\n", "import json\nimport cornerstone  # from code/requirements.txt\n", 1
    )
    (folder / "code" / "inference.py").write_text(script)
    (folder / "code" / "requirements.txt").write_text("cornerstone==1.0\n")
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(corpus.config("plain")))
    payload_file = tmp_path / "three.csv"
    payload_file.write_bytes(corpus.CSV_BODY)
    args = ["register", pack(folder, tmp_path / "m.tar.gz"), "--config", config_file]
    args += ["--payload", payload_file, "--check", "--env", "image", "--json"]
    refused = invoke(*args, env={"MIMSREG_ENV_CACHE": str(env_cache)})
    assert refused.exit_code == 1, refused.output
    assert "cornerstone" in refused.stderr
    # The hint (the CLI caps long lines in the middle, so only its start is sure to show).
    assert "(code/requirements.txt was not" in refused.stderr
    installing = [*args, "--install-requirements", "--wheelhouse", wheels]
    result = invoke(*installing, env={"MIMSREG_ENV_CACHE": str(env_cache)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["status"] == "created"
