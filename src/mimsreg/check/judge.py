"""Judging the child's answers: content type, body, one record per request record, every
declared output with its type."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mimsreg.engine.payload import (
    CSV_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    PayloadSample,
    parse_number,
)
from mimsreg.engine.spec import RegistrationSpec, VariableType

if TYPE_CHECKING:
    pass
from mimsreg.check.report import SampleResult
from mimsreg.check.run import _ChildRun

_MAX_REASONS = 20
_PREVIEW_CHARS = 300


def _describe_error(error: Any) -> str:
    if not isinstance(error, dict):
        return "an unknown error"
    text = f"{error.get('type', 'Exception')}: {error.get('message', '')}"
    where = error.get("where")
    return f"{text} ({where})" if where else text


# Modules of AWS's serving images: whether PyPI has them (a requirements.txt can bring them) and
# which images hold them.
SERVING_IMAGE_MODULES: dict[str, tuple[bool, str]] = {
    "sagemaker_containers": (True, "scikit-learn and XGBoost"),
    "sagemaker_inference": (True, "framework"),
    "sagemaker_training": (True, "scikit-learn"),
    "sagemaker_pytorch_serving_container": (True, "PyTorch"),
    "sagemaker_sklearn_container": (False, "scikit-learn"),
    "sagemaker_xgboost_container": (False, "XGBoost"),
    "sagemaker_algorithm_toolkit": (False, "XGBoost"),
    "mlio": (False, "XGBoost"),
}


def _image_module_reason(error: Any, script: str, image: str) -> str | None:
    """One line for a script importing a package of the serving images that is not here."""
    if not isinstance(error, dict) or not error.get("module"):
        return None
    root = str(error["module"]).split(".", 1)[0]
    if root not in SERVING_IMAGE_MODULES:
        return None
    on_pypi, images = SERVING_IMAGE_MODULES[root]
    if on_pypi:
        return (
            f"{script} imports {root}, a package of AWS's {images} serving images that this "
            f"environment ({image}) lacks: list it in code/requirements.txt and use "
            "--install-requirements"
        )
    return (
        f"{script} imports {root}, which exists only inside AWS's {images} serving images (not "
        f"on PyPI), so it cannot run outside them (configured image: {image})"
    )


def _fatal_reason(event: dict[str, Any], entry_point: str, image: str = "") -> str:
    stage = event.get("stage")
    script = f"code/{entry_point}"
    if stage == "handlers" and event.get("conflict"):
        return (
            f"{script} defines transform_fn and input_fn, predict_fn or output_fn: serving "
            'refuses that ("Cannot use transform_fn implementation with input_fn, predict_fn, '
            'and/or output_fn"); keep one of the two'
        )
    if stage == "handlers":
        missing = ", ".join(str(name) for name in event.get("missing") or [])
        return (
            f"missing handler {missing} in {script}: the serving image has no default "
            "model_fn (it supplies input_fn, predict_fn and output_fn)"
        )
    if stage == "import":
        line = _image_module_reason(event.get("error"), script, image or "unknown")
        if line is not None:
            return line
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
    if len(outputs) == 1 and document is not None:
        return [document]  # one record's one output, as the JSON encoder writes a scalar
    reasons.add(
        f"the response is {_value_kind(document)} ({_short(document)}), not an object of "
        "output name → value (or a list of them, one per record)"
    )
    return None


def _check_value(number: int, name: str, kind: str, value: Any, reasons: _Reasons) -> None:
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


def _check_object(
    number: int, record: dict[str, Any], spec: RegistrationSpec, reasons: _Reasons
) -> None:
    outputs = dict(spec.output_variables)
    for key in record:
        if key not in outputs:
            reasons.add(f"record {number}: {key!r} is not a declared output")
    for name, kind in spec.output_variables:
        if name not in record:
            present = ", ".join(repr(key) for key in record) or "nothing"
            reasons.add(f"record {number}: output {name!r} is missing (the response has {present})")
            continue
        _check_value(number, name, kind, record[name], reasons)


def _check_record(number: int, record: Any, spec: RegistrationSpec, reasons: _Reasons) -> None:
    """An object of name → value, or positional: a row of one value per output in order (what
    the serving images' JSON encoder makes of a prediction array), a bare value for one output."""
    outputs = spec.output_variables
    if isinstance(record, dict):
        _check_object(number, record, spec, reasons)
    elif isinstance(record, list) and len(record) == len(outputs):
        for (name, kind), value in zip(outputs, record, strict=True):
            _check_value(number, name, kind, value, reasons)
    elif isinstance(record, list):
        reasons.add(
            f"record {number}: {len(record)} value(s) for {len(outputs)} output variable(s) "
            f"({', '.join(name for name, _ in outputs)})"
        )
    elif len(outputs) == 1 and record is not None:
        _check_value(number, outputs[0][0], outputs[0][1], record, reasons)
    else:
        reasons.add(
            f"record {number} is {_value_kind(record)} ({_short(record)}), not an object of "
            f"output name → value nor a row of {len(outputs)} value(s)"
        )


def _named(document: Any, names: set[str]) -> list[Any] | None:
    """The first object, or list of objects, holding a declared output name (depth first)."""
    if isinstance(document, dict):
        if names & set(document):
            return [document]
        children: list[Any] = list(document.values())
    elif isinstance(document, list):
        if (
            document
            and all(isinstance(item, dict) for item in document)
            and any(names & set(item) for item in document)
        ):
            return document
        children = document
    else:
        return None
    for child in children:
        found = _named(child, names)
        if found is not None:
            return found
    return None


def _check_json(
    text: str, spec: RegistrationSpec, expected: int | None, reasons: _Reasons
) -> tuple[str, ...]:
    """``expected`` None: a request sent verbatim (records unknown): judged by output names where
    they can be found."""
    outputs = dict(spec.output_variables)
    if expected is None:
        try:
            document = json.loads(text)
        except ValueError as exc:
            reasons.add(f"the response is not valid JSON: {exc}")
            return ()
        records = _named(document, set(outputs))
        if records is None:
            return (
                "no declared output name in the response: only its content type and JSON "
                "syntax were checked",
            )
        for number, record in enumerate(records, start=1):
            _check_object(number, record, spec, reasons)
        return ()
    found = _json_records(text, list(outputs), reasons)
    if found is None:
        return ()
    records = found
    if len(outputs) > 1 and expected == 1 and records and not isinstance(records[0], (dict, list)):
        records = [records]  # one positional row, not wrapped: [0.1, "low"]
    if len(records) != expected:
        reasons.add(f"{len(records)} record(s) in the response for {expected} in the request")
    for number, record in enumerate(records, start=1):
        _check_record(number, record, spec, reasons)
    return ()


def _check_csv(
    text: str, spec: RegistrationSpec, expected: int | None, reasons: _Reasons
) -> tuple[str, ...]:
    """Positional rows: one column per output, in order (``expected`` None: any number)."""
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
    if expected is not None and len(rows) != expected:
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


def _hint(event: dict[str, Any], sample: PayloadSample, serving: Mapping[str, str]) -> str:
    """Why serving fails the same way, where the cause is a known difference of the image."""
    error = event.get("error")
    message = str(error.get("message", "")) if isinstance(error, dict) else ""
    image = serving.get("image", "the configured")
    if "'context'" in message and serving.get("stack") == "containers":
        return (
            f" (the {image} image serves one model with sagemaker-containers, which never passes "
            "a context; only the inference toolkit does (PyTorch, multi-model endpoints): give "
            "the parameter a default, context=None)"
        )
    stage = str(event.get("stage", ""))
    if (
        stage.startswith("input_fn (the image's default)")
        and serving.get("framework") == "xgboost"
        and sample.body.endswith(b"\n")
    ):
        return (
            f" (the {image} image's CSV decoder refuses a trailing newline: send the rows "
            "without one)"
        )
    return ""


def _judge(
    sample: PayloadSample,
    accept: str,
    event: dict[str, Any],
    spec: RegistrationSpec,
    serving: Mapping[str, str],
    verbatim: bool,
) -> SampleResult:
    if not event.get("ok"):
        reason = f"{event.get('stage')} raised {_describe_error(event.get('error'))}"
        return _failed(sample, accept, reason + _hint(event, sample, serving))
    body = base64.b64decode(str(event.get("body_b64", "")))
    returned = event.get("content_type")
    response_type = _media_type(returned) if returned else _media_type(accept)
    notes: list[str] = [str(event["note"])] if event.get("note") else []
    reasons = _Reasons()
    preview = body[:_PREVIEW_CHARS].decode("utf-8", "replace")
    status = event.get("status")
    if isinstance(status, int) and status >= 400:
        reasons.add(f"the response has status {status}: {_short(preview)}")
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
    expected = None if verbatim else len(sample.records)
    if text is not None and response_type == JSON_CONTENT_TYPE:
        notes.extend(_check_json(text, spec, expected, reasons))
    elif text is not None and response_type == CSV_CONTENT_TYPE:
        notes.extend(_check_csv(text, spec, expected, reasons))
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
    *,
    serving: Mapping[str, str] | None = None,
    verbatim: bool = False,
) -> tuple[list[SampleResult], str | None, list[str]]:
    """``serving``: the image's facts (hints name it); ``verbatim``: a request sent as it is."""
    facts = serving or {}
    accept = spec.response_types[0]
    answered = {event.get("index"): event for event in run.events if event.get("event") == "sample"}
    kinds = {str(event.get("event")) for event in run.events}
    fatal = next((event for event in run.events if event.get("event") == "fatal"), None)
    notes: list[str] = []
    error: str | None = None
    if fatal is not None:
        error = _fatal_reason(fatal, spec.inference_entry_point, facts.get("image", ""))
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
            results.append(_judge(sample, accept, event, spec, facts, verbatim))
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
