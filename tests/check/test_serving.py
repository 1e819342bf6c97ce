"""Dispatch as serving does, one test per rule (docs/check.md, "Serving conventions"): run on this
Python with plain-Python models, so no image environment is built."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mimsreg.check import _child, check_model
from mimsreg.check.environment import (
    SERVING_IMAGES,
    ServingImage,
    choose_environment,
    ensure_environment,
    environment_key,
)
from mimsreg.config import ModelRegistrationConfig
from mimsreg.engine.payload import PayloadSample, generate_samples
from mimsreg.engine.spec import RegistrationSpec
from mimsreg.errors import BadInputError
from tests.support import corpus
from tests.support.cli import invoke
from tests.support.models import write_model


def spec_for(kind: str = "plain", **changes: Any) -> RegistrationSpec:
    return ModelRegistrationConfig(**{**corpus.config(kind), **changes}).to_spec()


def three(spec: RegistrationSpec, body: bytes = corpus.CSV_BODY) -> list[PayloadSample]:
    records = generate_samples(spec, rows=3)[0].records
    return [PayloadSample("three.csv", "text/csv", body, records)]


def plain_model(tmp_path: Path, script: str, **kwargs: Any) -> Path:
    folder = write_model(tmp_path / "m", script, **kwargs)
    (folder / "weights.json").write_text(json.dumps({"weights": [0.5, 0.25, 0.1]}))
    return folder


def reasons(report: Any) -> list[str]:
    return [reason for sample in report.samples for reason in sample.reasons]


# --- handlers: defaults, transform_fn, context ----------------------------------------------------


def test_model_fn_only_gets_the_images_defaults(tmp_path: Path) -> None:
    """input_fn, predict_fn and output_fn default to the image's: decode to a float32 array,
    model.predict, the JSON encoder (a flat array, judged positionally)."""
    spec = spec_for()
    report = check_model(
        plain_model(tmp_path, corpus.script("plain", "model_fn_only")), spec, three(spec)
    )
    assert report.passed, report.to_dict()
    assert json.loads(report.samples[0].response_preview or "") == pytest.approx([1.3, 3.85, 6.4])


def test_one_csv_row_fails_as_the_sklearn_image_fails(tmp_path: Path) -> None:
    """sagemaker-containers squeezes one CSV row to a 1-D array: scikit-learn's predict refuses
    it in serving, so the check fails the same way (the default stage named)."""
    spec = spec_for()

    class_model = corpus.script("plain", "model_fn_only").replace(
        "    def predict(self, rows):\n",
        "    def predict(self, rows):\n        assert rows.ndim == 2, 'Expected 2D array'\n",
    )
    one = generate_samples(spec, rows=1)
    report = check_model(plain_model(tmp_path, class_model), spec, one)
    assert reasons(report) == [
        "predict_fn (the image's default) raised AssertionError: Expected 2D array "
        '(File "code/inference.py", line 13, in predict: assert rows.ndim == 2, '
        "'Expected 2D array')"
    ]


def test_transform_fn_with_input_fn_is_refused(tmp_path: Path) -> None:
    """Both serving stacks refuse transform_fn beside input_fn/predict_fn/output_fn."""
    script = corpus.script("plain", "transform_fn") + "\ndef input_fn(body, ct):\n    return body\n"
    spec = spec_for()
    report = check_model(plain_model(tmp_path, script), spec, three(spec))
    assert report.error is not None
    assert report.error.startswith(
        "code/inference.py defines transform_fn and input_fn, predict_fn or output_fn"
    )


def test_a_required_context_fails_on_the_sklearn_image_with_the_reason(tmp_path: Path) -> None:
    """sagemaker-containers (the scikit-learn and XGBoost images' server) never passes context."""
    script = corpus.script("plain", "model_fn_only") + (
        "\ndef predict_fn(data, model, context):\n    return model.predict(data)\n"
    )
    spec = spec_for()
    report = check_model(plain_model(tmp_path, script), spec, three(spec))
    (reason,) = reasons(report)
    assert "missing 1 required positional argument: 'context'" in reason
    assert reason.endswith(
        "(the sklearn 1.2-1 image serves one model with sagemaker-containers, which never passes "
        "a context; only the inference toolkit does (PyTorch, multi-model endpoints): give the "
        "parameter a default, context=None)"
    )


def test_the_toolkit_passes_context_to_handlers_that_take_it(tmp_path: Path) -> None:
    """Where the inference toolkit serves (PyTorch), a handler with one parameter more gets the
    context (model_fn too), with the request's headers and the model folder."""
    script = corpus.script("plain", "model_fn_only").replace(
        "def model_fn(model_dir):",
        "def model_fn(model_dir, context):\n"
        "    assert context.system_properties['model_dir'] == model_dir",
    ) + (
        "\ndef input_fn(body, content_type, context):\n"
        "    assert context.get_request_header(0, 'Accept') == 'application/json'\n"
        "    return [line.split(',') for line in body.splitlines()]\n"
        "\ndef predict_fn(data, model, context):\n    return model.predict(data)\n"
        "\ndef output_fn(prediction, accept, context):\n"
        "    return json.dumps(prediction), accept\n"
    )
    spec = spec_for(framework="pytorch", framework_version="2.1")
    report = check_model(plain_model(tmp_path, script), spec, three(spec))
    assert report.passed, report.to_dict()


def test_the_toolkit_refuses_a_handler_with_two_parameters_more(tmp_path: Path) -> None:
    """_run_handler_function: neither the arguments nor one more is a TypeError naming counts."""
    script = corpus.script("plain", "model_fn_only") + (
        "\ndef predict_fn(data, model, context, extra):\n    return model.predict(data)\n"
        "\ndef input_fn(body, content_type):\n    return [[1, 2, 3]] * 3\n"
    )
    spec = spec_for(framework="pytorch", framework_version="2.1")
    report = check_model(plain_model(tmp_path, script), spec, three(spec))
    assert reasons(report)[0].startswith(
        "predict_fn raised TypeError: predict_fn takes 4 arguments but 2 were given."
    )


# --- responses ----------------------------------------------------------------------------------


def test_response_objects_are_unwrapped() -> None:
    """A werkzeug/Flask Response gives its body, content type and status."""
    from werkzeug.wrappers import Response

    body, content_type, note, status = _child.encode_response(
        Response('[{"score": 1}]', status=415, mimetype="application/json"), "containers"
    )
    assert (body, content_type, note, status) == (b'[{"score": 1}]', "application/json", None, 415)


def test_a_bare_string_is_text_html_under_flask_and_the_accept_type_under_the_toolkit() -> None:
    body, content_type, note, _ = _child.encode_response("[1]", "containers")
    assert (body, content_type) == (b"[1]", "text/html; charset=utf-8")
    assert note is not None
    assert "text/html" in note
    assert _child.encode_response("[1]", "toolkit")[1:3] == (None, None)


def test_an_error_status_fails_the_sample(tmp_path: Path) -> None:
    script = corpus.script("plain", "model_fn_only") + (
        "\ndef output_fn(prediction, accept):\n"
        "    from werkzeug.wrappers import Response\n"
        "    return Response('{\"error\": \"nope\"}', status=406, mimetype='application/json')\n"
    )
    spec = spec_for()
    report = check_model(plain_model(tmp_path, script), spec, three(spec))
    assert reasons(report)[0] == 'the response has status 406: \'{"error": "nope"}\''


def test_the_containers_csv_decoder_keeps_its_quirks() -> None:
    """sagemaker-containers' csv_to_numpy: one row squeezes to 1-D, text stays a string array."""
    assert _child.containers_decode("1,2,3", "text/csv").shape == (3,)
    assert _child.containers_decode("1,2\n3,4", "text/csv").dtype.kind == "f"
    assert _child.containers_decode("1,a\n3,4", "text/csv").dtype.kind == "U"
    with pytest.raises(_child.UnsupportedFormatError):
        _child.containers_decode("x", "text/plain")


def test_the_xgboost_decoder_refuses_a_trailing_newline_with_a_hint(tmp_path: Path) -> None:
    pytest.importorskip("xgboost")
    spec = spec_for("xgboost")
    folder = tmp_path / "m"
    import sys

    corpus.train(sys.executable, "xgboost", folder)
    (folder / "code").mkdir()
    (folder / "code" / "inference.py").write_text(corpus.script("xgboost", "model_fn_only"))
    report = check_model(folder, spec, three(spec, corpus.CSV_BODY + b"\n"))
    (reason,) = reasons(report)
    assert reason.startswith("input_fn (the image's default) raised ValueError")
    assert reason.endswith(
        "(the xgboost 1.7-1 image's CSV decoder refuses a trailing newline: send the rows "
        "without one)"
    )
    assert check_model(folder, spec, three(spec)).passed


# --- judging ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "passed"),
    [
        ("[0.5, 2]", True),  # flat: one output, one value per record
        ("[[0.5], [2]]", True),  # rows of one value
        ('{"predictions": [0.5, 2]}', True),
        ('[0.5, "high"]', False),
    ],
)
def test_positional_json_arrays_are_judged_like_csv_rows(
    tmp_path: Path, response: str, passed: bool
) -> None:
    script = corpus.script("plain", "model_fn_only") + (
        f"\ndef transform_fn(model, body, content_type, accept):\n"
        f"    return {response!r}, 'application/json'\n"
    )
    spec = spec_for()
    two = [PayloadSample("two.csv", "text/csv", b"1,2,3\n4,5,6", three(spec)[0].records[:2])]
    report = check_model(plain_model(tmp_path, script), spec, two)
    assert report.passed is passed, report.to_dict()
    if not passed:
        assert reasons(report) == [
            "record 2: output 'score' is NUMERIC but the model returned a string ('high')"
        ]


def test_a_request_file_is_sent_verbatim_and_judged_by_names(tmp_path: Path) -> None:
    """--request: the body as it is; records unknown, the outputs found by name."""
    script = corpus.script("plain", "model_fn_only") + (
        "\ndef transform_fn(model, body, content_type, accept):\n"
        "    document = json.loads(body)\n"
        "    assert document == {'instances': {'rows': [[1, 2, 3]]}}, document\n"
        "    return json.dumps({'result': {'items': [{'score': 1.3}, {'score': 'x'}]}}), accept\n"
    )
    spec = spec_for(source_model_inference_content_types=["application/json"])
    request = tmp_path / "request.json"
    request.write_text('{"instances": {"rows": [[1, 2, 3]]}}')
    model = plain_model(tmp_path, script)
    result = invoke(
        "check",
        model,
        "--config",
        _config_file(tmp_path, spec_for(source_model_inference_content_types=["application/json"])),
        "--request",
        request,
        "--content-type",
        "application/json",
        "--env",
        "current",
    )
    assert result.exit_code == 1, result.output
    assert "record 2: output 'score' is NUMERIC but the model returned a string ('x')" in (
        result.stdout
    )
    report = check_model(model, spec, request=request, content_type="application/json")
    assert report.samples[0].name == "request.json"


def _config_file(tmp_path: Path, spec: RegistrationSpec) -> Path:
    path = tmp_path / "config.json"
    kwargs = corpus.config("plain")
    kwargs["source_model_inference_content_types"] = list(spec.content_types)
    path.write_text(json.dumps(kwargs))
    return path


def test_request_options_are_checked(tmp_path: Path) -> None:
    spec = spec_for()
    model = plain_model(tmp_path, corpus.script("plain", "model_fn_only"))
    with pytest.raises(BadInputError, match="needs --content-type"):
        check_model(model, spec, request=tmp_path / "r.csv")
    with pytest.raises(BadInputError, match="'text/plain' is not a declared content type"):
        check_model(model, spec, request=tmp_path / "r.csv", content_type="text/plain")
    with pytest.raises(BadInputError, match="cannot read the request"):
        check_model(model, spec, request=tmp_path / "r.csv", content_type="text/csv")
    with pytest.raises(BadInputError, match="--content-type goes with --request"):
        check_model(model, spec, content_type="text/csv")


# --- modules only the serving images hold ---------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (
            "sagemaker_xgboost_container.encoder",
            "code/inference.py imports sagemaker_xgboost_container, which exists only inside "
            "AWS's XGBoost serving images (not on PyPI), so it cannot run outside them "
            "(configured image: sklearn 1.2-1)",
        ),
        (
            "sagemaker_containers.beta.framework",
            "code/inference.py imports sagemaker_containers, a package of AWS's scikit-learn and "
            "XGBoost serving images that this environment (sklearn 1.2-1) lacks: list it in "
            "code/requirements.txt and use --install-requirements",
        ),
    ],
)
def test_an_image_only_module_is_one_line(tmp_path: Path, module: str, expected: str) -> None:
    script = f"import {module}\n" + corpus.script("plain", "model_fn_only")
    spec = spec_for()
    report = check_model(plain_model(tmp_path, script), spec, three(spec))
    assert report.error is not None
    assert report.error.startswith(expected), report.error
    assert "\n" not in report.error


# --- choosing the environment ---------------------------------------------------------------------


def test_auto_falls_back_to_this_python_with_a_note() -> None:
    unknown = choose_environment(
        "auto", spec_for(framework="pytorch", framework_version="2.1"), None
    )
    assert unknown.kind == "current"
    assert unknown.note is not None
    assert unknown.note.startswith("no image environment for pytorch")
    with pytest.raises(BadInputError, match=r"--env image: no image environment for pytorch 2\.1"):
        choose_environment("image", spec_for(framework="pytorch", framework_version="2.1"), None)
    with pytest.raises(BadInputError, match="--env must be one of"):
        choose_environment("docker", spec_for(), None)


def test_a_missing_image_python_is_bad_input_for_image_and_a_note_for_auto(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    choice = choose_environment("auto", spec_for(), None)
    assert (choice.kind, choice.note) == (
        "current",
        "Python 3.9 (the sklearn 1.2-1 image's) is not installed: ran on this Python",
    )
    with pytest.raises(BadInputError, match=r"pyenv install 3\.9, pass --python"):
        choose_environment("image", spec_for(), None)


def test_the_environment_key_is_the_content() -> None:
    image = SERVING_IMAGES[("sklearn", "1.2-1")]
    key = environment_key(image, "3.9.18")
    assert key == environment_key(image, "3.9.18")
    others = {
        environment_key(image, "3.9.17"),
        environment_key(SERVING_IMAGES[("sklearn", "1.0-1")], "3.9.18"),
    }
    assert len({key, *others}) == 3


@pytest.mark.slow  # two virtualenvs: 10 to 30 s
def test_an_environment_is_built_once_then_found_in_the_cache(tmp_path: Path) -> None:
    """No packages to install: a bare virtualenv, so no network is needed."""
    import sys

    image = ServingImage("sklearn", "0.0-test", "3.11", (), "containers", "test")
    first = ensure_environment(image, sys.executable, tmp_path, 120)
    assert not isinstance(first, str)
    assert first.built
    again = ensure_environment(image, sys.executable, tmp_path, 120)
    assert not isinstance(again, str)
    assert not again.built
    assert (again.python, again.key) == (first.python, first.key)
    (first.root / ".mimsreg-env.json").unlink()  # an interrupted build is rebuilt
    rebuilt = ensure_environment(image, sys.executable, tmp_path, 120)
    assert not isinstance(rebuilt, str)
    assert rebuilt.built


@pytest.mark.slow  # a virtualenv
def test_a_failed_build_leaves_nothing(tmp_path: Path) -> None:
    """A pin pip cannot install (a local wheel that is not there: no network needed): the
    reason, and no folder left in the cache."""
    import sys

    missing = (tmp_path / "missing-1.0-py3-none-any.whl").as_uri()
    image = ServingImage(
        "sklearn", "0.0-test", "3.11", (f"missing @ {missing}",), "containers", "test"
    )
    cache = tmp_path / "cache"
    failure = ensure_environment(image, sys.executable, cache, 120)
    assert isinstance(failure, str)
    assert failure.startswith(
        "building the image environment: pip install of the sklearn 0.0-test pins failed"
    )
    assert [path.name for path in cache.iterdir() if not path.name.endswith(".lock")] == []
