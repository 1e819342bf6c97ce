"""The conformance check: real (tiny, pure-Python) models run in a child process."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest

from mimsreg.check import CheckReport, check_model
from mimsreg.config import ModelRegistrationConfig
from mimsreg.engine.payload import PayloadSample, generate_samples
from mimsreg.engine.spec import RegistrationSpec
from mimsreg.errors import BadInputError, ConfigError, InvalidPackageError, PayloadError
from tests.support import models
from tests.support.cli import invoke
from tests.support.models import build_model, hostile_archive, variant, write_model


@pytest.fixture
def spec(seed_kwargs: dict[str, Any]) -> RegistrationSpec:
    """The seed's FraudDetection example: CSV in, JSON out, fraud_score and risk_category."""
    return ModelRegistrationConfig(**seed_kwargs).to_spec()


def only_reasons(report: CheckReport) -> list[str]:
    return [reason for sample in report.samples for reason in sample.reasons]


# --- passing models ------------------------------------------------------------------------------


def test_a_good_model_passes(tmp_path: Path, spec: RegistrationSpec) -> None:
    """The packaged archive is extracted, loaded in a child and every response conforms."""
    report = check_model(build_model(tmp_path), spec)
    assert report.passed, report.to_dict()
    (sample,) = report.samples
    assert (sample.name, sample.content_type, sample.accept) == (
        "payload_text_csv_0.csv",
        "text/csv",
        "application/json",
    )
    assert json.loads(sample.response_preview or "") == {"fraud_score": 0.1, "risk_category": "low"}
    assert report.error is None
    assert report.to_dict()["samples"][0]["status"] == "pass"


def test_a_good_model_passes_for_json_requests_and_csv_responses(
    tmp_path: Path, seed_kwargs: dict[str, Any]
) -> None:
    """JSON in, CSV out (one column per output in order), three records each."""
    spec = ModelRegistrationConfig(
        **{
            **seed_kwargs,
            "source_model_inference_content_types": ["application/json"],
            "source_model_inference_response_types": ["text/csv"],
        }
    ).to_spec()
    payload = generate_samples(spec, rows=3)
    report = check_model(write_model(tmp_path / "m"), spec, payload)
    assert report.passed, report.to_dict()
    assert report.samples[0].records == 3
    assert report.samples[0].response_preview == "0.1,low\n0.1,low\n0.1,low\n"


def test_transform_fn_is_used_when_defined(tmp_path: Path, spec: RegistrationSpec) -> None:
    """transform_fn(model, body, content_type, accept) replaces the three handlers."""
    report = check_model(write_model(tmp_path / "m", models.TRANSFORM_FN), spec)
    assert report.passed, report.to_dict()


def test_the_child_runs_as_serving_does(tmp_path: Path, spec: RegistrationSpec) -> None:
    """cwd is the model folder, SAGEMAKER_* is set, code/ comes first on sys.path (a model's own
    config.py wins over mimsreg's), and model prints do not disturb the protocol."""
    script = variant(
        "def model_fn(model_dir):\n",
        textwrap.dedent(
            """
            def model_fn(model_dir):
                import config, sys
                print("loading", config.NAME)
                print("to stderr", file=sys.stderr)
                assert config.NAME == "the model's own config", config.__file__
                assert os.getcwd() == model_dir, (os.getcwd(), model_dir)
                assert os.environ["SAGEMAKER_PROGRAM"] == "inference.py"
                assert os.environ["SAGEMAKER_SUBMIT_DIRECTORY"] == os.path.join(model_dir, "code")
                assert os.environ["SAGEMAKER_REGION"] == "us-east-1"
                assert os.environ["SAGEMAKER_CONTAINER_LOG_LEVEL"] == "20"
                assert os.environ["SM_MODEL_DIR"] == model_dir
                return _model_fn(model_dir)

            def _model_fn(model_dir):
            """
        ).lstrip("\n"),
    )
    folder = write_model(
        tmp_path / "m", script, extra_files={"code/config.py": 'NAME = "the model\'s own config"\n'}
    )
    report = check_model(folder, spec)
    assert report.passed, report.to_dict()
    assert not list(folder.rglob("__pycache__")), "the check must not write bytecode"


def test_output_returning_a_dict_is_json_encoded_with_a_note(
    tmp_path: Path, spec: RegistrationSpec
) -> None:
    """Like the model server, a non-bytes response is JSON-encoded; the report says so."""
    script = variant(
        'return json.dumps(body), "application/json"', "return body", models.GOOD_INFERENCE
    )
    report = check_model(write_model(tmp_path / "m", script), spec)
    assert report.passed, report.to_dict()
    assert report.samples[0].notes == ("the handler returned a dict; it was JSON-encoded",)


def test_predictions_wrapper_and_header_rows_are_accepted(
    tmp_path: Path, seed_kwargs: dict[str, Any]
) -> None:
    """{"predictions": [...]} holds the records; a CSV header equal to the outputs is skipped."""
    spec = ModelRegistrationConfig(**seed_kwargs).to_spec()
    wrapped = variant(
        "body = predictions[0] if len(predictions) == 1 else predictions",
        'body = {"predictions": predictions}',
    )
    assert check_model(write_model(tmp_path / "a", wrapped), spec).passed
    csv_spec = ModelRegistrationConfig(
        **{**seed_kwargs, "source_model_inference_response_types": ["text/csv"]}
    ).to_spec()
    header = variant(
        'return "\\n".join(lines) + "\\n", "text/csv"',
        'return "fraud_score,risk_category\\n" + "\\n".join(lines), "text/csv; charset=utf-8"',
    )
    report = check_model(write_model(tmp_path / "b", header), csv_spec)
    assert report.passed, report.to_dict()
    assert report.samples[0].notes == ("the CSV response starts with a header row (skipped)",)


# --- failing models ------------------------------------------------------------------------------


def test_wrong_output_name_fails(tmp_path: Path, spec: RegistrationSpec) -> None:
    """A renamed output is missing, and the name used is not declared."""
    report = check_model(build_model(tmp_path, models.WRONG_OUTPUT_NAME), spec)
    assert not report.passed
    assert report.error is None
    assert only_reasons(report) == [
        "record 1: 'score' is not a declared output",
        "record 1: output 'fraud_score' is missing (the response has 'score', 'risk_category')",
    ]


def test_text_output_returned_as_a_number_fails(tmp_path: Path, spec: RegistrationSpec) -> None:
    """A TEXT output must be a JSON string."""
    report = check_model(build_model(tmp_path, models.TEXT_AS_NUMBER), spec)
    assert only_reasons(report) == [
        "record 1: output 'risk_category' is TEXT but the model returned a number (1)"
    ]


def test_missing_output_fn_is_the_images_default(tmp_path: Path, spec: RegistrationSpec) -> None:
    """Without output_fn the image's default encodes the prediction (sagemaker-containers'
    JSON encoder here), as serving does; it no longer fails for a missing handler."""
    report = check_model(build_model(tmp_path, models.MISSING_OUTPUT_FN), spec)
    assert report.passed, report.to_dict()
    assert report.error is None
    (sample,) = report.samples
    assert sample.response_content_type == "application/json"
    assert json.loads(sample.response_preview or "") == [
        {"fraud_score": 0.1, "risk_category": "low"}
    ]


def test_missing_model_fn_fails(tmp_path: Path, spec: RegistrationSpec) -> None:
    """model_fn is always required: the container's default is framework-specific."""
    script = models.TRANSFORM_FN.replace("def model_fn(", "def load_model(")
    report = check_model(write_model(tmp_path / "m", script), spec)
    assert report.error is not None
    assert report.error.startswith("missing handler model_fn in code/inference.py")


def test_a_handler_that_raises_fails_with_type_message_and_line(
    tmp_path: Path, spec: RegistrationSpec
) -> None:
    """The exception type, its message and the last traceback line come back from the child."""
    report = check_model(build_model(tmp_path, models.RAISES), spec)
    (reason,) = only_reasons(report)
    assert reason.startswith("predict_fn raised ValueError: weights are corrupt (File ")
    assert '"code/inference.py", line ' in reason
    assert reason.endswith("in predict_fn: raise ValueError('weights are corrupt'))")


def test_a_hanging_model_is_killed_at_the_timeout(tmp_path: Path, spec: RegistrationSpec) -> None:
    """A handler that never returns is killed after --timeout and the report says so."""
    report = check_model(build_model(tmp_path, models.HANGS), spec, timeout=2)
    assert not report.passed
    assert only_reasons(report) == [
        "timed out after 2 s handling this sample; the child was killed"
    ]
    assert report.error == "timed out after 2 s; the child was killed"
    assert 2 <= report.duration_seconds < 10


def test_a_timeout_reports_samples_before_and_after(tmp_path: Path, spec: RegistrationSpec) -> None:
    """Samples answered before the hang keep their verdict; later ones were not run."""
    script = variant(
        "def predict_fn(records, model):\n",
        "def predict_fn(records, model):\n"
        "    if records[0]['country_code'] == 'HANG':\n"
        "        import time\n"
        "        time.sleep(600)\n",
    )
    folder = tmp_path / "payload"
    folder.mkdir()
    for name, code in (("a", "FR"), ("b", "HANG"), ("c", "DE")):
        (folder / f"{name}.csv").write_text(f"1,2,{code}\n")
    report = check_model(write_model(tmp_path / "m", script), spec, folder, timeout=1.5)
    assert [s.passed for s in report.samples] == [True, False, False]
    assert report.samples[1].reasons == (
        "timed out after 1.5 s handling this sample; the child was killed",
    )
    assert report.samples[2].reasons == ("not run: the check timed out on an earlier sample",)


def test_hanging_while_loading(tmp_path: Path, spec: RegistrationSpec) -> None:
    """A model_fn that never returns is reported as a load timeout."""
    script = variant(
        "def model_fn(model_dir):\n", "def model_fn(model_dir):\n    while True:\n        pass\n"
    )
    report = check_model(write_model(tmp_path / "m", script), spec, timeout=1)
    assert report.error is not None
    assert report.error.startswith("timed out after 1 s while loading the model")


def test_a_thread_left_running_is_a_note(tmp_path: Path, spec: RegistrationSpec) -> None:
    """Answers are kept when the child answered everything but would not exit."""
    script = variant(
        "def model_fn(model_dir):\n",
        "def model_fn(model_dir):\n"
        "    import threading, time\n"
        "    threading.Thread(target=time.sleep, args=(600,)).start()\n",
    )
    report = check_model(write_model(tmp_path / "m", script), spec, timeout=1.5)
    assert report.passed, report.to_dict()
    assert report.notes == (
        "the child answered every sample but did not exit (a thread left running?)",
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "def model_fn(model_dir):\n",
            "def model_fn(model_dir):\n    raise RuntimeError('no weights')\n",
            "model_fn raised RuntimeError: no weights (File",
        ),
        (
            "import csv\n",
            "import csv\nimport not_installed_anywhere\n",
            "importing code/inference.py raised ModuleNotFoundError: No module named "
            "'not_installed_anywhere'",
        ),
        (
            "def predict_fn(records, model):\n",
            "def predict_fn(records, model):\n    os._exit(3)\n",
            "the child process exited with code 3 before answering every sample",
        ),
    ],
)
def test_model_level_failures(
    tmp_path: Path, spec: RegistrationSpec, old: str, new: str, expected: str
) -> None:
    """Import errors, model_fn errors and a crashing child fail every sample with the reason."""
    report = check_model(write_model(tmp_path / "m", variant(old, new)), spec)
    assert report.error is not None
    assert report.error.startswith(expected), report.error
    assert all(not sample.passed for sample in report.samples)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'return json.dumps(body), "application/json"',
            'return json.dumps(body), "text/plain"',
            "the response content type 'text/plain' is not a declared response type "
            "(application/json)",
        ),
        (
            'return json.dumps(body), "application/json"',
            'return "{not json", "application/json"',
            "the response is not valid JSON: Expecting property name",
        ),
        (
            'return json.dumps(body), "application/json"',
            'return b"\\xff\\xfe", "application/json"',
            "the response is not UTF-8 text",
        ),
        (
            'return json.dumps(body), "application/json"',
            'return json.dumps([body, body]), "application/json"',
            "2 record(s) in the response for 1 in the request",
        ),
        (
            'return json.dumps(body), "application/json"',
            'return "0.3", "application/json"',
            "the response is a number (0.3), not an object of output name",
        ),
        (
            'return json.dumps(body), "application/json"',
            'return json.dumps([0.3]), "application/json"',
            "record 1: 1 value(s) for 2 output variable(s) (fraud_score, risk_category)",
        ),
        (
            'return json.dumps(body), "application/json"',
            'return json.dumps([[0.3, 7]]), "application/json"',
            "record 1: output 'risk_category' is TEXT but the model returned a number (7)",
        ),
        (
            'return json.dumps(body), "application/json"',
            "return json.dumps(body)",
            "the response content type 'text/html; charset=utf-8' is not a declared response "
            "type (application/json)",
        ),
        (
            'return json.dumps(body), "application/json"',
            "return json.dumps({'fraud_score': True, 'risk_category': 'low'}), 'application/json'",
            "record 1: output 'fraud_score' is NUMERIC but the model returned a boolean (True)",
        ),
        (
            'return json.dumps(body), "application/json"',
            "return object()",
            "output_fn raised TypeError: the response is a object, which serving cannot send",
        ),
    ],
)
def test_nonconforming_responses(
    tmp_path: Path, spec: RegistrationSpec, old: str, new: str, expected: str
) -> None:
    """Each way a JSON response can break the contract is named."""
    report = check_model(write_model(tmp_path / "m", variant(old, new)), spec)
    assert not report.passed
    assert report.error is None
    assert only_reasons(report)[0].startswith(expected), only_reasons(report)


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        ('return "0.1\\n", "text/csv"', "record 1: 1 column(s) for 2 output variable(s)"),
        ('return "high,low\\n", "text/csv"', "record 1: output 'fraud_score' is NUMERIC"),
        ('return "", "text/csv"', "0 record(s) in the response for 1 in the request"),
        ('return "a,\\"b\\n", "text/csv"', "the response is not valid CSV"),
    ],
)
def test_nonconforming_csv_responses(
    tmp_path: Path, seed_kwargs: dict[str, Any], new: str, expected: str
) -> None:
    """CSV responses: one row per record, one column per output, NUMERIC columns numeric."""
    spec = ModelRegistrationConfig(
        **{**seed_kwargs, "source_model_inference_response_types": ["text/csv"]}
    ).to_spec()
    script = variant('return "\\n".join(lines) + "\\n", "text/csv"', new)
    report = check_model(write_model(tmp_path / "m", script), spec)
    assert only_reasons(report)[0].startswith(expected), only_reasons(report)


def test_many_bad_records_are_capped(tmp_path: Path, spec: RegistrationSpec) -> None:
    """Twenty reasons per sample at most, then a count."""
    payload = generate_samples(spec, rows=30)
    report = check_model(build_model(tmp_path, models.TEXT_AS_NUMBER), spec, payload)
    reasons = only_reasons(report)
    assert len(reasons) == 21
    assert reasons[-1] == "... and 10 more"


def test_an_oversized_response_fails(tmp_path: Path, spec: RegistrationSpec) -> None:
    """A response over 16 MiB is not shipped back."""
    script = variant(
        'return json.dumps(body), "application/json"', 'return b" " * (17 * 1024 ** 2)'
    )
    report = check_model(write_model(tmp_path / "m", script), spec)
    assert only_reasons(report)[0].startswith("output_fn raised ResponseTooLarge")


# --- payloads and inputs ------------------------------------------------------------------------


def test_custom_payload_samples_in_undeclared_types_are_skipped(
    tmp_path: Path, spec: RegistrationSpec
) -> None:
    """A JSON sample for a CSV model is skipped with a note; none left is bad input."""
    folder = tmp_path / "payload"
    folder.mkdir()
    (folder / "a.csv").write_text("1,2,FR\n")
    (folder / "b.json").write_text(
        '{"account_age": 1, "transaction_count": 2, "country_code": "FR"}'
    )
    report = check_model(write_model(tmp_path / "m"), spec, folder)
    assert report.passed
    assert [s.name for s in report.samples] == ["a.csv"]
    assert report.notes == (
        "skipped b.json: application/json is not a declared content type (text/csv)",
    )
    only_json = [
        PayloadSample("x.json", "application/json", b"{}", ({},)),
    ]
    with pytest.raises(PayloadError, match="no sample of the declared content type"):
        check_model(write_model(tmp_path / "m"), spec, only_json)


def test_bad_inputs_raise_before_running(tmp_path: Path, spec: RegistrationSpec) -> None:
    """A bad payload, a missing model or entry point, a bad timeout: BadInputError."""
    bad = tmp_path / "bad.csv"
    bad.write_text("x,2,FR\n")
    folder = write_model(tmp_path / "m")
    with pytest.raises(PayloadError, match="'account_age'"):
        check_model(folder, spec, bad)
    with pytest.raises(InvalidPackageError, match="no such file or directory"):
        check_model(tmp_path / "nope.tar.gz", spec)
    with pytest.raises(InvalidPackageError, match="neither an extracted model"):
        check_model(folder / "code", spec)
    (folder / "code" / "inference.py").unlink()
    with pytest.raises(InvalidPackageError, match="has no code/inference\\.py"):
        check_model(folder, spec)
    with pytest.raises(BadInputError, match="positive number of seconds"):
        check_model(folder, spec, timeout=0)


def test_a_folder_holding_one_archive(tmp_path: Path, spec: RegistrationSpec) -> None:
    """As in the processing job's input folder, a folder with one model.tar.gz is that model."""
    folder = tmp_path / "input"
    folder.mkdir()
    build_model(tmp_path)
    (tmp_path / "model.tar.gz").rename(folder / "model.tar.gz")
    assert check_model(folder, spec).passed


def test_a_model_folder_passes_and_a_hostile_one_is_refused(
    tmp_path: Path, spec: RegistrationSpec
) -> None:
    """A model folder (registered uncompressed) runs where it is; one with a link leaving it is
    refused, by the archive's rules, before anything runs."""
    folder = write_model(tmp_path / "model")
    assert check_model(folder, spec).passed
    (folder / "secrets").symlink_to("/etc/passwd")
    with pytest.raises(InvalidPackageError, match="symlink to the absolute path"):
        check_model(folder, spec)


def test_a_hostile_archive_is_refused(tmp_path: Path, spec: RegistrationSpec) -> None:
    """A member escaping the folder stops the check before anything runs."""
    with pytest.raises(InvalidPackageError):
        check_model(hostile_archive(tmp_path / "model.tar.gz"), spec)
    assert not (tmp_path / "escape.py").exists()


def test_config_file_or_config_object(tmp_path: Path, seed_kwargs: dict[str, Any]) -> None:
    """check_model takes a config file path or a config object as well as a spec."""
    path = tmp_path / "c.json"
    path.write_text(json.dumps(seed_kwargs))
    folder = write_model(tmp_path / "m")
    assert check_model(folder, path).passed
    assert check_model(folder, str(path)).passed
    assert check_model(folder, ModelRegistrationConfig(**seed_kwargs)).passed
    path.write_text("{}")
    with pytest.raises(ConfigError):
        check_model(folder, path)


# --- requirements ---------------------------------------------------------------------------------


def build_wheel(folder: Path, name: str = "tinydep", source: str = "FACTOR = 3\n") -> Path:
    """A minimal pure-Python wheel, so pip installs it offline."""
    dist_info = f"{name}-1.0.dist-info"
    files = {
        f"{name}.py": source,
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


@pytest.mark.slow
def test_requirements_are_installed_only_on_request(tmp_path: Path, spec: RegistrationSpec) -> None:
    """Without --install-requirements an import fails with a hint; with it, pip installs it into a
    temporary folder on the child's path (here offline, from a wheelhouse the user names)."""
    script = variant("import csv\n", "import csv\nimport tinydep\n")
    folder = write_model(tmp_path / "m", script, requirements="tinydep==1.0\n")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    build_wheel(wheels)
    report = check_model(folder, spec)
    assert report.error is not None
    assert "No module named 'tinydep'" in report.error
    assert report.error.endswith(
        "(code/requirements.txt was not installed: try --install-requirements)"
    )
    assert report.notes == (
        "code/requirements.txt was not installed (--install-requirements installs it)",
    )
    report = check_model(folder, spec, install_requirements=True, wheelhouse=wheels)
    assert report.passed, report.to_dict()
    assert report.notes == ("installed code/requirements.txt into a temporary folder",)
    assert not (folder / "code" / "tinydep.py").exists()
    (folder / "code" / "requirements.txt").write_text("missing==1.0\n")
    report = check_model(folder, spec, install_requirements=True, wheelhouse=wheels)
    assert report.error is not None
    assert report.error.startswith("pip install -r code/requirements.txt failed (exit 1): ")
    assert only_reasons(report) == [report.error]


def test_pip_timeout_is_reported(tmp_path: Path, spec: RegistrationSpec) -> None:
    """An installation that takes too long is stopped and named."""
    folder = write_model(tmp_path / "m", requirements="nothing\n")
    report = check_model(
        folder, spec, install_requirements=True, install_timeout=0.001, wheelhouse=tmp_path
    )
    assert report.error == "pip install -r code/requirements.txt took longer than 0.001 s; stopped"
    # Nothing of it is left running: a kill landing while bubblewrap set the sandbox up used to
    # leave its init (named by the wheelhouse folder in its arguments) behind, for good.
    left = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(tmp_path).encode() in cmdline.read_bytes():
                left.append(cmdline.parent.name)
        except OSError:  # gone meanwhile
            continue
    assert left == []


# --- the command ----------------------------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path: Path, seed_kwargs: dict[str, Any]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(seed_kwargs))
    return path


def test_cli_check_passes_with_exit_0(tmp_path: Path, config_file: Path) -> None:
    """A conforming model: PASS per sample, exit 0."""
    model = build_model(tmp_path)
    result = invoke("check", str(model), "--config", str(config_file), "--env", "current")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"checking {model} (code/inference.py)"
    assert lines[1] == "PASS  payload_text_csv_0.csv  text/csv → application/json, 1 record(s)"
    assert lines[-1].startswith("passed: 1 sample(s) in ")


def test_cli_check_fails_with_exit_1(tmp_path: Path, config_file: Path) -> None:
    """A failing model: FAIL with the reason, the model's output on stderr, exit 1."""
    model = write_model(
        tmp_path / "m",
        variant(
            "def model_fn(model_dir):\n",
            "def model_fn(model_dir):\n"
            "    import sys\n"
            "    print('about to fail', file=sys.stderr)\n"
            "    raise ValueError('weights are corrupt')\n",
        ),
    )
    result = invoke(
        "check", str(model), "--config", str(config_file), "--timeout", "30", "--env", "current"
    )
    assert result.exit_code == 1, result.output
    assert "FAIL  payload_text_csv_0.csv" in result.stdout
    assert "      model_fn raised ValueError: weights are corrupt" in result.stdout
    assert result.stdout.splitlines()[-1] == "failed: 1 of 1 sample(s)"
    assert "  about to fail" in result.stderr


def test_cli_check_json_and_timeout(tmp_path: Path, config_file: Path) -> None:
    """--json prints the report; --timeout bounds the run."""
    model = write_model(tmp_path / "m", models.HANGS)
    (tmp_path / "p.csv").write_text("1,2,FR\n")
    result = invoke(
        *[
            "check",
            str(model),
            "--config",
            str(config_file),
            "--payload",
            str(tmp_path / "p.csv"),
            "--timeout",
            "1",
            "--json",
            "--env",
            "current",
        ],
    )
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["passed"] is False
    assert report["samples"][0]["status"] == "fail"
    assert report["samples"][0]["name"] == "p.csv"
    assert report["error"] == "timed out after 1 s; the child was killed"


def test_cli_check_notes_are_printed(tmp_path: Path, config_file: Path) -> None:
    """Notes (here: requirements not installed) follow the verdicts."""
    model = write_model(tmp_path / "m", requirements="")
    result = invoke("check", str(model), "--config", str(config_file), "--env", "current")
    assert result.exit_code == 0, result.output
    assert "note: code/requirements.txt was not installed" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timeout", "0"], "Invalid value for '--timeout'"),
        (["--payload", "s3://b/p.tar.gz"], "fetched by the SageMaker backend"),
    ],
)
def test_cli_check_bad_input_exits_2(
    tmp_path: Path, config_file: Path, args: list[str], message: str
) -> None:
    """Bad arguments, payloads, configs and archives: exit 2 with the reason."""
    model = write_model(tmp_path / "m")
    result = invoke("check", str(model), "--config", str(config_file), *args, "--env", "current")
    assert result.exit_code == 2
    assert message in result.output


def test_cli_check_bad_config_and_archive_exit_2(tmp_path: Path, config_file: Path) -> None:
    """A configuration that does not validate, or a hostile archive: exit 2, nothing run."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("framework: keras\n")
    result = invoke("check", str(tmp_path), "--config", str(bad))
    assert result.exit_code == 2
    assert "error: invalid configuration" in result.stderr
    hostile = hostile_archive(tmp_path / "model.tar.gz")
    result = invoke("check", str(hostile), "--config", str(config_file))
    assert result.exit_code == 2
    assert "error: " in result.stderr


def test_child_runs_on_python_39(tmp_path: Path, spec: RegistrationSpec, python39: str) -> None:
    """The child runner is stdlib-only and 3.9-compatible (models often pin older Pythons)."""
    report = check_model(write_model(tmp_path / "m"), spec, python=python39)
    assert report.passed, report.to_dict()


def test_check_uses_this_python_by_default(tmp_path: Path, spec: RegistrationSpec) -> None:
    """The child's interpreter is sys.executable unless told otherwise."""
    script = variant(
        "def model_fn(model_dir):\n",
        "def model_fn(model_dir):\n"
        f"    import sys\n    assert sys.executable == {sys.executable!r}\n",
    )
    assert check_model(write_model(tmp_path / "m", script), spec).passed


def test_exception_details_are_qualified_and_capped(tmp_path: Path, spec: RegistrationSpec) -> None:
    """A model's own exception class is named with its module; a huge message is cut."""
    script = variant(
        "def model_fn(model_dir):\n",
        "class WeightsError(Exception):\n    pass\n\n"
        "def model_fn(model_dir):\n    raise WeightsError('x' * 5000)\n",
    )
    report = check_model(write_model(tmp_path / "m", script), spec)
    assert report.error is not None
    assert report.error.startswith("model_fn raised inference.WeightsError: xxx")
    assert "x" * 2000 + "..." in report.error
    assert "x" * 2001 not in report.error


def test_an_entry_point_in_a_subfolder(tmp_path: Path, seed_kwargs: dict[str, Any]) -> None:
    """inference_entry_point may name a script in a folder under code/; its folder is importable."""
    spec = ModelRegistrationConfig(
        **seed_kwargs, inference_entry_point="serving/entry.py"
    ).to_spec()
    script = variant("import csv\n", "import csv\nimport helpers\n")
    folder = write_model(
        tmp_path / "m",
        script,
        entry_point="serving/entry.py",
        extra_files={"code/serving/helpers.py": "X = 1\n"},
    )
    report = check_model(folder, spec)
    assert report.passed, report.to_dict()
    assert report.entry_point == "code/serving/entry.py"


def test_a_child_python_that_cannot_run(tmp_path: Path, spec: RegistrationSpec) -> None:
    """An interpreter that is missing is bad input; one that exits at once fails the model."""
    folder = write_model(tmp_path / "m")
    with pytest.raises(BadInputError, match="cannot run the Python"):
        check_model(folder, spec, python=str(tmp_path / "no-python"))
    report = check_model(folder, spec, python="/bin/false")
    assert report.error == "the child process exited with code 1 before answering every sample"


def test_a_truncated_result_line_is_ignored(tmp_path: Path) -> None:
    """A child killed while writing leaves half a line; it is skipped, not fatal."""
    from mimsreg.check.run import _read_events

    path = tmp_path / "results.jsonl"
    path.write_text('{"event": "loaded"}\n[1, 2]\n{"event": "sam')
    assert _read_events(path) == [{"event": "loaded"}]
    assert _read_events(tmp_path / "missing.jsonl") == []


def test_long_values_are_shortened_in_reasons(tmp_path: Path, spec: RegistrationSpec) -> None:
    """A huge wrong value is quoted in part."""
    script = variant('label = "high" if value > 0.5 else "low"', "label = list(range(1000))")
    report = check_model(write_model(tmp_path / "m", script), spec)
    (reason,) = only_reasons(report)
    assert reason.startswith(
        "record 1: output 'risk_category' is TEXT but the model returned a list"
    )
    assert reason.endswith("...)")
    assert len(reason) < 200
