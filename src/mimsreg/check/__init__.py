"""Conformance check: does a packaged model accept its declared inputs and return its outputs?

:func:`check_model` extracts ``model.tar.gz`` safely into a temporary folder, then runs the model's
inference handlers in a separate Python process (``mimsreg/check/_child.py``) with a time limit, the
way SageMaker's serving containers call them, and sends every sample payload with its content type
and the declared response type as ``Accept``. The child returns each raw response as JSON text
(nothing is unpickled); this process checks it against the declared output variables.

The model's ``code/requirements.txt`` is installed only on request, with pip, into a temporary
folder put on the child's path; without it the child sees the packages of this Python.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from mimsreg.engine.payload import (
    CSV_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    PayloadSample,
    generate_samples,
    load_payload,
    parse_number,
)
from mimsreg.engine.spec import RegistrationSpec, VariableType
from mimsreg.errors import BadInputError, InvalidPackageError, PayloadError

if TYPE_CHECKING:
    from mimsreg.config import ModelRegistrationConfig

__all__ = ["DEFAULT_TIMEOUT", "CheckReport", "SampleResult", "check_model"]

DEFAULT_TIMEOUT = 60.0
DEFAULT_INSTALL_TIMEOUT = 900.0
CHILD_SCRIPT = Path(__file__).with_name("_child.py")
_MAX_REASONS = 20
_PREVIEW_CHARS = 300
_LOG_TAIL_LINES = 20

ConfigOrSpec = Union["ModelRegistrationConfig", RegistrationSpec, str, "os.PathLike[str]"]


@dataclass(frozen=True)
class SampleResult:
    """The verdict on one sample: passed, or the reasons it failed."""

    name: str
    content_type: str
    accept: str
    records: int
    passed: bool
    reasons: tuple[str, ...] = ()
    response_content_type: str | None = None
    response_preview: str | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (part of ``mimsreg check --json``)."""
        return {
            "name": self.name,
            "content_type": self.content_type,
            "accept": self.accept,
            "records": self.records,
            "status": "pass" if self.passed else "fail",
            "reasons": list(self.reasons),
            "response_content_type": self.response_content_type,
            "response_preview": self.response_preview,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class CheckReport:
    """What :func:`check_model` found: one result per sample and, if the model as a whole failed
    (import, missing handler, ``model_fn``, requirements, time limit), why."""

    model: str
    entry_point: str
    samples: tuple[SampleResult, ...]
    error: str | None = None
    notes: tuple[str, ...] = ()
    log_tail: tuple[str, ...] = field(default=())
    duration_seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """True when the model loaded and every sample passed."""
        return self.error is None and bool(self.samples) and all(s.passed for s in self.samples)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (the ``--json`` output of ``mimsreg check``)."""
        return {
            "model": self.model,
            "entry_point": self.entry_point,
            "passed": self.passed,
            "error": self.error,
            "samples": [sample.to_dict() for sample in self.samples],
            "notes": list(self.notes),
            "log_tail": list(self.log_tail),
            "duration_seconds": round(self.duration_seconds, 3),
        }


# --- inputs -------------------------------------------------------------------------------------


def _resolve_spec(config_or_spec: ConfigOrSpec) -> RegistrationSpec:
    if isinstance(config_or_spec, RegistrationSpec):
        return config_or_spec
    if isinstance(config_or_spec, (str, os.PathLike)):
        from mimsreg.config import ModelRegistrationConfig

        return ModelRegistrationConfig.from_file(Path(config_or_spec)).to_spec()
    return config_or_spec.to_spec()


def _samples(
    spec: RegistrationSpec,
    payload: str | os.PathLike[str] | Sequence[PayloadSample] | None,
) -> tuple[list[PayloadSample], list[str]]:
    """The samples to send (declared content types only) and notes on those skipped."""
    if payload is None:
        return generate_samples(spec), []
    if isinstance(payload, (str, os.PathLike)):
        loaded = load_payload(payload, spec)
    else:
        loaded = list(payload)
    chosen = [sample for sample in loaded if sample.content_type in spec.content_types]
    notes = [
        f"skipped {sample.name}: {sample.content_type} is not a declared content type "
        f"({', '.join(spec.content_types)})"
        for sample in loaded
        if sample.content_type not in spec.content_types
    ]
    if not chosen:
        raise PayloadError(
            f"the payload holds no sample of the declared content type(s) "
            f"{', '.join(spec.content_types)}"
        )
    return chosen, notes


def _model_dir(model: Path, work: Path) -> Path:
    """The model's folder: ``model`` itself if it is an extracted model (it has ``code/``), else
    the archive (``model``, or the one archive in the folder ``model``) extracted safely."""
    if model.is_dir():
        if (model / "code").is_dir():
            return model
        if not any(entry.name.endswith((".tar.gz", ".tgz", ".tar")) for entry in model.iterdir()):
            raise InvalidPackageError(
                f"{str(model)!r} is neither an extracted model (it has no code/ folder) nor a "
                "folder holding a model archive"
            )
    from mimsreg.engine.package import extract_package

    target = work / "model"
    extract_package(model, target)
    return target


# --- running the child --------------------------------------------------------------------------


@dataclass
class _ChildRun:
    events: list[dict[str, Any]]
    timed_out: bool
    returncode: int | None
    log_tail: tuple[str, ...]


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the child and whatever it started (its own process group on POSIX)."""
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(process.pid, signal.SIGKILL)
    else:  # pragma: no cover - Windows has no process groups to kill
        process.kill()
    process.wait()


def _tail(path: Path) -> tuple[str, ...]:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 16_384))
        text = handle.read().decode("utf-8", "replace")
    return tuple(text.splitlines()[-_LOG_TAIL_LINES:])


def _read_events(path: Path) -> list[dict[str, Any]]:
    events = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:  # the child died before it opened the file
        return []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:  # the last line of a child killed while writing
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _run_child(
    python: str,
    model_dir: Path,
    code_dir: Path,
    spec: RegistrationSpec,
    samples: Sequence[PayloadSample],
    extra_paths: Sequence[Path],
    work: Path,
    timeout: float,
) -> _ChildRun:
    accept = spec.response_types[0]
    request = {
        "model_dir": str(model_dir),
        "code_dir": str(code_dir),
        "entry_point": spec.inference_entry_point,
        "extra_paths": [str(path) for path in extra_paths],
        "samples": [
            {
                "content_type": sample.content_type,
                "accept": accept,
                "body_b64": base64.b64encode(sample.body).decode("ascii"),
            }
            for sample in samples
        ],
    }
    request_path = work / "request.json"
    results_path = work / "results.jsonl"
    log_path = work / "child.log"
    request_path.write_text(json.dumps(request), encoding="utf-8")
    env = dict(os.environ)
    # What the serving container sets (SAGEMAKER_SUBMIT_DIRECTORY is /opt/ml/model/code there).
    env.update(
        {
            "SAGEMAKER_PROGRAM": spec.inference_entry_point,
            "SAGEMAKER_SUBMIT_DIRECTORY": str(code_dir),
            "SAGEMAKER_REGION": spec.region,
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
            "SM_MODEL_DIR": str(model_dir),
        }
    )
    command = [python, "-I", "-B", str(CHILD_SCRIPT), str(request_path), str(results_path)]
    timed_out = False
    with log_path.open("wb") as log:
        # Results go to a file rather than a pipe: a full pipe would stall the child into a timeout.
        try:
            process = subprocess.Popen(
                command,
                cwd=model_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=os.name == "posix",
            )
        except OSError as exc:
            raise BadInputError(f"cannot run the Python {python!r}: {exc}") from exc
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            if process.poll() is None:
                _kill(process)
    return _ChildRun(
        _read_events(results_path),
        timed_out,
        None if timed_out else process.returncode,
        _tail(log_path),
    )


def _install_requirements(
    python: str, requirements: Path, target: Path, timeout: float
) -> str | None:
    """pip install -r into ``target``; the reason it failed, or None."""
    command = [
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--target",
        str(target),
        "-r",
        str(requirements),
    ]
    try:
        result = subprocess.run(
            command,
            cwd=requirements.parent,
            capture_output=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return f"pip install -r code/requirements.txt took longer than {timeout:g} s; stopped"
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        last = lines[-1] if lines else "(no output)"
        return f"pip install -r code/requirements.txt failed (exit {result.returncode}): {last}"
    return None


# --- judging the responses ----------------------------------------------------------------------


def _describe_error(error: Any) -> str:
    if not isinstance(error, dict):
        return "an unknown error"
    text = f"{error.get('type', 'Exception')}: {error.get('message', '')}"
    where = error.get("where")
    return f"{text} ({where})" if where else text


def _fatal_reason(event: dict[str, Any], entry_point: str) -> str:
    stage = event.get("stage")
    script = f"code/{entry_point}"
    if stage == "handlers":
        missing = ", ".join(str(name) for name in event.get("missing") or [])
        return (
            f"missing handler {missing} in {script}: the serving container's default handlers "
            "are not available outside it, so the script must define model_fn and either "
            "input_fn, predict_fn and output_fn, or transform_fn"
        )
    if stage == "import":
        return f"importing {script} raised {_describe_error(event.get('error'))}"
    return f"{stage} raised {_describe_error(event.get('error'))}"


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _value_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


class _Reasons:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.dropped = 0

    def add(self, reason: str) -> None:
        if len(self.items) < _MAX_REASONS:
            self.items.append(reason)
        else:
            self.dropped += 1

    def result(self) -> tuple[str, ...]:
        extra = [f"... and {self.dropped} more"] if self.dropped else []
        return (*self.items, *extra)


def _json_records(text: str, outputs: Sequence[str], reasons: _Reasons) -> list[Any] | None:
    try:
        document = json.loads(text)
    except ValueError as exc:
        reasons.add(f"the response is not valid JSON: {exc}")
        return None
    if isinstance(document, dict):
        wrapped = document.get("predictions")
        if "predictions" not in outputs and len(document) == 1 and isinstance(wrapped, list):
            return wrapped
        return [document]
    if isinstance(document, list):
        return document
    reasons.add(
        f"the response is {_value_kind(document)} ({_short(document)}), not an object of "
        "output name → value (or a list of them, one per record)"
    )
    return None


def _check_json(text: str, spec: RegistrationSpec, expected: int, reasons: _Reasons) -> None:
    outputs = dict(spec.output_variables)
    records = _json_records(text, list(outputs), reasons)
    if records is None:
        return
    if len(records) != expected:
        reasons.add(f"{len(records)} record(s) in the response for {expected} in the request")
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            reasons.add(
                f"record {number} is {_value_kind(record)} ({_short(record)}), not an object of "
                "output name → value"
            )
            continue
        for key in record:
            if key not in outputs:
                reasons.add(f"record {number}: {key!r} is not a declared output")
        for name, kind in spec.output_variables:
            if name not in record:
                present = ", ".join(repr(key) for key in record) or "nothing"
                reasons.add(
                    f"record {number}: output {name!r} is missing (the response has {present})"
                )
                continue
            value = record[name]
            numeric = VariableType(kind) is VariableType.NUMERIC
            if numeric and (isinstance(value, bool) or not isinstance(value, (int, float))):
                reasons.add(
                    f"record {number}: output {name!r} is NUMERIC but the model returned "
                    f"{_value_kind(value)} ({_short(value)})"
                )
            elif not numeric and not isinstance(value, str):
                reasons.add(
                    f"record {number}: output {name!r} is TEXT but the model returned "
                    f"{_value_kind(value)} ({_short(value)})"
                )


def _check_csv(
    text: str, spec: RegistrationSpec, expected: int, reasons: _Reasons
) -> tuple[str, ...]:
    names = [name for name, _ in spec.output_variables]
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), strict=True) if row]
    except csv.Error as exc:
        reasons.add(f"the response is not valid CSV: {exc}")
        return ()
    notes: tuple[str, ...] = ()
    if rows and rows[0] == names:
        rows = rows[1:]
        notes = ("the CSV response starts with a header row (skipped)",)
    if len(rows) != expected:
        reasons.add(f"{len(rows)} record(s) in the response for {expected} in the request")
    for number, row in enumerate(rows, start=1):
        if len(row) != len(names):
            reasons.add(
                f"record {number}: {len(row)} column(s) for {len(names)} output variable(s) "
                f"({', '.join(names)})"
            )
            continue
        for (name, kind), value in zip(spec.output_variables, row, strict=True):
            if VariableType(kind) is VariableType.NUMERIC and parse_number(value) is None:
                reasons.add(f"record {number}: output {name!r} is NUMERIC but got {_short(value)}")
    return notes


def _failed(sample: PayloadSample, accept: str, reason: str) -> SampleResult:
    return SampleResult(
        sample.name, sample.content_type, accept, len(sample.records), False, (reason,)
    )


def _judge(
    sample: PayloadSample, accept: str, event: dict[str, Any], spec: RegistrationSpec
) -> SampleResult:
    if not event.get("ok"):
        reason = f"{event.get('stage')} raised {_describe_error(event.get('error'))}"
        return _failed(sample, accept, reason)
    body = base64.b64decode(str(event.get("body_b64", "")))
    returned = event.get("content_type")
    response_type = _media_type(returned) if returned else _media_type(accept)
    notes: list[str] = [str(event["note"])] if event.get("note") else []
    reasons = _Reasons()
    preview = body[:_PREVIEW_CHARS].decode("utf-8", "replace")
    declared = [_media_type(kind) for kind in spec.response_types]
    if response_type not in declared:
        reasons.add(
            f"the response content type {returned or accept!r} is not a declared response type "
            f"({', '.join(spec.response_types)})"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        reasons.add(f"the response is not UTF-8 text ({exc.reason} at byte {exc.start})")
        text = None
    if text is not None and response_type == JSON_CONTENT_TYPE:
        _check_json(text, spec, len(sample.records), reasons)
    elif text is not None and response_type == CSV_CONTENT_TYPE:
        notes.extend(_check_csv(text, spec, len(sample.records), reasons))
    result = reasons.result()
    return SampleResult(
        sample.name,
        sample.content_type,
        accept,
        len(sample.records),
        passed=not result,
        reasons=result,
        response_content_type=returned or accept,
        response_preview=preview,
        notes=tuple(notes),
    )


def _results(
    run: _ChildRun,
    samples: Sequence[PayloadSample],
    spec: RegistrationSpec,
    timeout: float,
) -> tuple[list[SampleResult], str | None, list[str]]:
    accept = spec.response_types[0]
    answered = {event.get("index"): event for event in run.events if event.get("event") == "sample"}
    kinds = {str(event.get("event")) for event in run.events}
    fatal = next((event for event in run.events if event.get("event") == "fatal"), None)
    notes: list[str] = []
    error: str | None = None
    if fatal is not None:
        error = _fatal_reason(fatal, spec.inference_entry_point)
    elif run.timed_out and "done" in kinds:
        notes.append("the child answered every sample but did not exit (a thread left running?)")
    elif run.timed_out and "loaded" not in kinds:
        error = (
            f"timed out after {timeout:g} s while loading the model (importing the script or "
            "model_fn); the child was killed"
        )
    elif not run.timed_out and "done" not in kinds:
        error = f"the child process exited with code {run.returncode} before answering every sample"
    results = []
    pending_reported = False
    for index, sample in enumerate(samples):
        event = answered.get(index)
        if event is not None:
            results.append(_judge(sample, accept, event, spec))
            continue
        if error is not None:
            reason = error
        elif not pending_reported:
            reason = f"timed out after {timeout:g} s handling this sample; the child was killed"
            pending_reported = True
        else:
            reason = "not run: the check timed out on an earlier sample"
        results.append(_failed(sample, accept, reason))
    if run.timed_out and error is None and pending_reported:
        error = f"timed out after {timeout:g} s; the child was killed"
    return results, error, notes


# --- the check ----------------------------------------------------------------------------------


def check_model(
    model: str | os.PathLike[str],
    config_or_spec: ConfigOrSpec,
    payload: str | os.PathLike[str] | Sequence[PayloadSample] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    install_requirements: bool = False,
    *,
    python: str | None = None,
    install_timeout: float = DEFAULT_INSTALL_TIMEOUT,
) -> CheckReport:
    """Run the packaged model's handlers on sample payloads and check the responses.

    ``model`` is a ``model.tar.gz`` (extracted safely to a temporary folder) or an extracted model
    folder. ``config_or_spec`` is a :class:`~mimsreg.config.ModelRegistrationConfig`, a
    :class:`~mimsreg.engine.spec.RegistrationSpec` or a configuration file. ``payload`` is a custom
    payload (see :func:`mimsreg.engine.payload.load_payload`) or samples; by default one sample per
    declared content type is generated from the configuration. ``timeout`` (seconds) bounds the
    child process as a whole; it is killed when it runs over. ``install_requirements`` pip-installs
    ``code/requirements.txt`` first (into a temporary folder). ``python`` is the interpreter of the
    child (default: this one).

    Raises :class:`~mimsreg.errors.BadInputError` subclasses for a bad configuration, archive or
    payload; a model that fails is a report with ``passed`` False, not an exception.
    """
    if not timeout > 0:
        raise BadInputError(f"the timeout must be a positive number of seconds, got {timeout!r}")
    started = time.monotonic()
    spec = _resolve_spec(config_or_spec)
    samples, notes = _samples(spec, payload)
    interpreter = python or sys.executable
    script = f"code/{spec.inference_entry_point}"
    with tempfile.TemporaryDirectory(prefix="mimsreg-check-") as folder:
        work = Path(folder)
        model_dir = _model_dir(Path(model), work).resolve()
        code_dir = model_dir / "code"
        if not (code_dir / spec.inference_entry_point).is_file():
            raise InvalidPackageError(
                f"{str(model)!r} has no {script}: the inference code belongs under code/"
            )
        requirements = code_dir / "requirements.txt"
        extra_paths: list[Path] = []
        requirements_skipped = requirements.is_file() and not install_requirements
        if requirements.is_file() and install_requirements:
            target = work / "site-packages"
            failure = _install_requirements(interpreter, requirements, target, install_timeout)
            if failure is not None:
                return _report_all_failed(model, spec, samples, failure, notes, started)
            extra_paths.append(target)
            notes.append("installed code/requirements.txt into a temporary folder")
        elif requirements.is_file():
            notes.append(
                "code/requirements.txt was not installed (--install-requirements installs it)"
            )
        run = _run_child(
            interpreter, model_dir, code_dir, spec, samples, extra_paths, work, timeout
        )
    results, error, run_notes = _results(run, samples, spec, timeout)
    if error and "ModuleNotFoundError" in error and requirements_skipped:
        error += " (code/requirements.txt was not installed: try --install-requirements)"
    failed = error is not None or not all(result.passed for result in results)
    return CheckReport(
        model=str(model),
        entry_point=script,
        samples=tuple(results),
        error=error,
        notes=(*notes, *run_notes),
        log_tail=run.log_tail if failed else (),
        duration_seconds=time.monotonic() - started,
    )


def _report_all_failed(
    model: str | os.PathLike[str],
    spec: RegistrationSpec,
    samples: Sequence[PayloadSample],
    error: str,
    notes: Sequence[str],
    started: float,
) -> CheckReport:
    accept = spec.response_types[0]
    results = tuple(_failed(sample, accept, error) for sample in samples)
    return CheckReport(
        model=str(model),
        entry_point=f"code/{spec.inference_entry_point}",
        samples=results,
        error=error,
        notes=tuple(notes),
        duration_seconds=time.monotonic() - started,
    )
