"""Judging the child's answers: content type, body, one record per request record, every
declared output with its type."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Sequence
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
