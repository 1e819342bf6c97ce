"""The child process of ``mimsreg check``: calls a packaged model's inference handlers.

It calls them as SageMaker's serving containers do (sagemaker-inference-toolkit):
``model_fn(model_dir)`` once, then per request ``input_fn(body, content_type)``,
``predict_fn(data, model)`` and ``output_fn(prediction, accept)``; or
``transform_fn(model, body, content_type, accept)`` when the script defines it. Bodies of
``text/csv`` and ``application/json`` requests arrive decoded as ``str``, as the toolkit does.

Run as a script, never imported by mimsreg: ``python -I -B _child.py REQUEST RESULTS``. The
isolated mode keeps this file's folder (mimsreg's modules) off ``sys.path``, so a model's ``import
config`` finds its own module. Standard library only, Python 3.9 and later.

REQUEST is a JSON file: ``{"model_dir", "code_dir", "entry_point", "extra_paths", "samples":
[{"content_type", "accept", "body_b64"}]}``. RESULTS receives one JSON line per event, flushed at
once, so that the parent knows how far a child it had to kill got. Nothing is pickled: responses
travel as base64 text.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path
from typing import IO, Any

# Content types whose bodies the serving toolkit decodes to str before input_fn.
UTF8_CONTENT_TYPES = ("text/csv", "application/json")
MAX_RESPONSE_BYTES = 16 * 1024**2
SERVING_HANDLERS = ("input_fn", "predict_fn", "output_fn")


def _where(exc: BaseException, model_dir: str) -> str:
    """The innermost traceback frame, its file relative to the model folder when inside it."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    frame = frames[-1]
    filename = frame.filename
    try:
        relative = os.path.relpath(filename, model_dir)
        if not relative.startswith(".."):
            filename = relative
    except ValueError:  # another drive on Windows
        pass
    text = f'File "{filename}", line {frame.lineno}, in {frame.name}'
    return f"{text}: {frame.line}" if frame.line else text


def error_info(exc: BaseException, model_dir: str) -> dict[str, str]:
    """Exception type, message (capped) and the last traceback frame, as plain strings."""
    kind = type(exc)
    name = kind.__qualname__
    if kind.__module__ not in ("builtins", "__main__"):
        name = f"{kind.__module__}.{name}"
    message = str(exc)
    if len(message) > 2000:
        message = message[:2000] + "..."
    return {"type": name, "message": message, "where": _where(exc, model_dir)}


class Reporter:
    """Writes one JSON line per event and flushes it."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def send(self, **event: Any) -> None:
        self.stream.write(json.dumps(event) + "\n")
        self.stream.flush()


def encode_response(result: Any) -> tuple[bytes, Any, str | None]:
    """(body bytes, content type or None, a note) of what output_fn/transform_fn returned.

    A (body, content_type) tuple carries its own content type. Like the model server, str is sent
    as UTF-8, bytes as they are, and any other value JSON-encoded (with a note).
    """
    content_type = None
    if isinstance(result, tuple) and len(result) == 2:
        result, content_type = result
    if isinstance(result, str):
        return result.encode("utf-8"), content_type, None
    if isinstance(result, (bytes, bytearray, memoryview)):
        return bytes(result), content_type, None
    try:
        body = json.dumps(result).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"the response is a {type(result).__name__}, which serving cannot send: "
            "return str or bytes"
        ) from exc
    return (
        body,
        content_type,
        f"the handler returned a {type(result).__name__}; it was JSON-encoded",
    )


def load_entry_point(code_dir: str, entry_point: str) -> Any:
    """Import code/<entry_point> under its module name, as serving imports SAGEMAKER_PROGRAM."""
    path = Path(code_dir) / entry_point
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {str(path)!r} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_sample(
    module: Any, model: Any, sample: dict[str, Any], reporter: Reporter, index: int, model_dir: str
) -> None:
    """Send one request through the handlers and report the raw response or the failure."""
    content_type = sample["content_type"]
    accept = sample["accept"]
    body: Any = base64.b64decode(sample["body_b64"])
    if content_type in UTF8_CONTENT_TYPES:
        # Undecodable bytes (the toolkit would fail too) go to input_fn as they are.
        with contextlib.suppress(UnicodeDecodeError):
            body = body.decode("utf-8")
    transform_fn = getattr(module, "transform_fn", None)
    stage = "transform_fn"
    try:
        if callable(transform_fn):
            result = transform_fn(model, body, content_type, accept)
        else:
            stage = "input_fn"
            data = module.input_fn(body, content_type)
            stage = "predict_fn"
            prediction = module.predict_fn(data, model)
            stage = "output_fn"
            result = module.output_fn(prediction, accept)
        response, response_type, note = encode_response(result)
    except BaseException as exc:  # the model's own failure is what we report
        reporter.send(
            event="sample", index=index, ok=False, stage=stage, error=error_info(exc, model_dir)
        )
        return
    if len(response) > MAX_RESPONSE_BYTES:
        reporter.send(
            event="sample",
            index=index,
            ok=False,
            stage=stage,
            error={
                "type": "ResponseTooLarge",
                "message": f"the response is {len(response)} bytes (at most {MAX_RESPONSE_BYTES})",
                "where": "",
            },
        )
        return
    reporter.send(
        event="sample",
        index=index,
        ok=True,
        body_b64=base64.b64encode(response).decode("ascii"),
        content_type=None if response_type is None else str(response_type),
        note=note,
    )


def main(argv: list[str]) -> int:
    """Run the request in ``argv[1]``, writing events to ``argv[2]``."""
    sys.dont_write_bytecode = True
    request = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    model_dir = request["model_dir"]
    code_dir = request["code_dir"]
    with open(argv[2], "w", encoding="utf-8") as stream:  # noqa: PTH123 - a plain text stream
        reporter = Reporter(stream)
        for extra in reversed(request.get("extra_paths") or []):
            sys.path.insert(0, extra)
        sys.path.insert(0, code_dir)
        try:
            module = load_entry_point(code_dir, request["entry_point"])
        except BaseException as exc:  # whatever the import raised, SystemExit too
            reporter.send(event="fatal", stage="import", error=error_info(exc, model_dir))
            return 0
        required = ["model_fn"]
        if not callable(getattr(module, "transform_fn", None)):
            required.extend(SERVING_HANDLERS)
        missing = [name for name in required if not callable(getattr(module, name, None))]
        if missing:
            reporter.send(event="fatal", stage="handlers", missing=missing)
            return 0
        try:
            model = module.model_fn(model_dir)
        except BaseException as exc:
            reporter.send(event="fatal", stage="model_fn", error=error_info(exc, model_dir))
            return 0
        reporter.send(event="loaded")
        for index, sample in enumerate(request["samples"]):
            run_sample(module, model, sample, reporter, index, model_dir)
        reporter.send(event="done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
