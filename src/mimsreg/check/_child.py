"""The child process of ``mimsreg check``: calls a packaged model's inference handlers.

It calls them as the configured SageMaker serving image does (``docs/check.md`` has the table):

- ``model_fn(model_dir)`` once, then per request ``transform_fn(model, body, content_type,
  accept)`` when the script defines it, else ``input_fn(body, content_type)``,
  ``predict_fn(data, model)``, ``output_fn(prediction, accept)``; a handler the script does not
  define is the image's default (decode with the toolkit's decoder, ``model.predict``, encode with
  its encoder; XGBoost's ``predict(..., validate_features=False)`` on a ``DMatrix``).
- ``transform_fn`` together with any of the three is refused, as both serving stacks refuse it.
- The scikit-learn and XGBoost images serve one model with sagemaker-containers' Transformer,
  which calls handlers with exactly those arguments. Where the inference toolkit
  (sagemaker-inference) serves (PyTorch, multi-model endpoints), a handler with one parameter more
  gets a ``context`` as its last argument, as the toolkit's ``_run_handler_function`` does.
- A response may be str or bytes, a (body, content type) tuple, or a response object (Flask's or
  werkzeug's ``Response``, sagemaker-containers' ``worker.Response``): its body, content type and
  status are taken from it. Bodies of ``text/csv`` and ``application/json`` requests arrive as
  ``str``, as both stacks decode them.

Run as a script, never imported by mimsreg: ``python -I -B _child.py REQUEST RESULTS``. Standard
library only, Python 3.7 syntax (the images run 3.8 and 3.9); numpy, scipy and xgboost are imported
only by the default handlers that need them, from the model's environment.

REQUEST is a JSON file: ``{"model_dir", "code_dir", "entry_point", "extra_paths", "serving":
{"framework", "image", "stack"}, "samples": [{"content_type", "accept", "body_b64"}]}``. RESULTS
receives one JSON line per event, flushed at once, so that the parent knows how far a child it had
to kill got. Nothing is pickled: responses travel as base64 text.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import importlib.util
import inspect
import io
import json
import os
import site
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

# Content types whose bodies both serving stacks decode to str before input_fn.
UTF8_CONTENT_TYPES = ("text/csv", "application/json")
MAX_RESPONSE_BYTES = 16 * 1024**2
SERVING_HANDLERS = ("input_fn", "predict_fn", "output_fn")
NPY = "application/x-npy"


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
    info = {"type": name, "message": message, "where": _where(exc, model_dir)}
    if isinstance(exc, ImportError) and exc.name:
        info["module"] = exc.name
    return info


class Reporter:
    """Writes one JSON line per event and flushes it."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def send(self, **event: Any) -> None:
        self.stream.write(json.dumps(event) + "\n")
        self.stream.flush()


# --- the images' default handlers (faithful copies; numpy and friends imported when used) -------


class UnsupportedFormatError(Exception):
    """What the serving stacks raise for a content type their codecs do not know (415/406)."""


def _numpy() -> Any:
    import numpy

    return numpy


def containers_decode(data: Any, content_type: str) -> Any:
    """sagemaker-containers' ``_encoders.decode`` (the scikit-learn image's decoder)."""
    np = _numpy()
    if content_type == "text/csv":
        # csv_to_numpy, with its quirk kept: a ValueError from astype(None) leaves the raw array.
        try:
            reader = csv.reader(
                io.StringIO(data), delimiter=",", quotechar='"', doublequote=True, strict=True
            )
            array = np.array(list(reader)).squeeze()
            array = array.astype(None)
        except ValueError:
            pass
        return array
    if content_type == "application/json":
        return np.array(json.loads(data))
    if content_type == NPY:
        return np.load(io.BytesIO(data), allow_pickle=True)
    raise UnsupportedFormatError(f"Content type {content_type} is not supported by this framework.")


def containers_encode(array_like: Any, accept: str) -> Any:
    """sagemaker-containers' ``_encoders.encode``: JSON, CSV (one row per record) or NPY."""
    np = _numpy()
    if accept == "application/json":

        def default(value: Any) -> Any:
            if hasattr(value, "tolist"):
                return value.tolist()
            return json.JSONEncoder().default(value)

        return json.dumps(array_like, default=default)
    if accept == "text/csv":
        array = np.array(array_like)
        if len(array.shape) == 1:
            array = np.reshape(array, (array.shape[0], 1))
        stream = io.StringIO()
        writer = csv.writer(
            stream, lineterminator="\n", delimiter=",", quotechar='"', doublequote=True, strict=True
        )
        writer.writerows(array)
        return stream.getvalue()
    if accept == NPY:
        buffer = io.BytesIO()
        np.save(buffer, array_like)
        return buffer.getvalue()
    raise UnsupportedFormatError(f"Content type {accept} is not supported by this framework.")


def toolkit_decode(data: Any, content_type: str) -> Any:
    """sagemaker-inference's ``decoder.decode``."""
    np = _numpy()
    if content_type == "text/csv":
        return np.genfromtxt(io.StringIO(data), dtype=None, delimiter=",")
    if content_type == "application/json":
        return np.array(json.loads(data))
    if content_type == NPY:
        return np.load(io.BytesIO(data), allow_pickle=True)
    raise UnsupportedFormatError(f"Content type {content_type} is not supported by this framework.")


def toolkit_encode(array_like: Any, accept: str) -> Any:
    """sagemaker-inference's ``encoder.encode``: CSV is ``numpy.savetxt(fmt="%s")``."""
    if accept == "text/csv":
        np = _numpy()
        stream = io.StringIO()
        np.savetxt(stream, array_like, delimiter=",", fmt="%s")
        return stream.getvalue()
    return containers_encode(array_like, accept)


def xgboost_decode(data: Any, content_type: str) -> Any:
    """The XGBoost image's ``encoder.decode``: CSV (delimiter sniffed) or LIBSVM to a DMatrix."""
    import xgboost

    media = content_type.split(";", 1)[0].strip()
    if media == "text/csv":
        text = data.decode() if isinstance(data, bytes) else data
        sniffed = csv.Sniffer().sniff(text.split("\n")[0][:512]).delimiter
        delimiter = "," if sniffed.isalnum() else sniffed
        rows = [
            ["nan" if x == "" else x for x in line.split(delimiter)] for line in text.split("\n")
        ]
        return xgboost.DMatrix(_numpy().array(rows).astype(None))
    if media in ("text/libsvm", "text/x-libsvm"):
        import tempfile

        with tempfile.NamedTemporaryFile(suffix=".libsvm") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
            handle.flush()
            return xgboost.DMatrix(handle.name)
    raise UnsupportedFormatError(f"Content type {media} is not supported by this framework.")


def _default_model_fn(model_dir: str) -> Any:
    raise NotImplementedError(
        "Please provide a model_fn implementation (the serving image has no default model_fn)"
    )


def default_handlers(framework: str) -> dict[str, Callable[..., Any]]:
    """The defaults of the image's serving code for a missing input_fn, predict_fn, output_fn."""
    if framework == "sklearn":

        def input_fn(data: Any, content_type: str) -> Any:
            array = containers_decode(data, content_type)
            if content_type in UTF8_CONTENT_TYPES:
                return array.astype(_numpy().float32)
            return array

        return {
            "input_fn": input_fn,
            "predict_fn": lambda data, model: model.predict(data),
            "output_fn": lambda prediction, accept: (containers_encode(prediction, accept), accept),
        }
    if framework == "xgboost":
        return {
            "input_fn": xgboost_decode,
            "predict_fn": lambda data, model: model.predict(data, validate_features=False),
            "output_fn": lambda prediction, accept: (containers_encode(prediction, accept), accept),
        }

    def predict_fn(data: Any, model: Any) -> Any:
        raise NotImplementedError("Please provide a predict_fn implementation")

    def output_fn(prediction: Any, accept: str) -> Any:
        for content_type in accept.replace(" ", "").split(","):
            if content_type in ("application/json", "text/csv", NPY):
                return toolkit_encode(prediction, content_type), content_type
        raise UnsupportedFormatError(accept)

    return {"input_fn": toolkit_decode, "predict_fn": predict_fn, "output_fn": output_fn}


# --- calling handlers as serving does ------------------------------------------------------------


class RequestProcessor:
    """The model server's request processor, as the toolkit reads it."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers

    def get_request_properties(self) -> dict[str, str]:
        return dict(self.headers)

    def get_request_property(self, key: str) -> str | None:
        return self.headers.get(key)


class ServingContext:
    """The ``context`` the inference toolkit passes: the model server's Context, its parts a
    handler reads (system properties, request headers, response content type and status)."""

    def __init__(self, model_dir: str) -> None:
        self.model_name = "model"
        self.system_properties = {
            "model_dir": model_dir,
            "gpu_id": None,
            "batch_size": 1,
            "server_name": "MMS",
            "server_version": "",
        }
        self.manifest: dict[str, Any] = {}
        self.metrics = None
        self.request_processor = [RequestProcessor({})]
        self.response_content_types: dict[int, str] = {}
        self.status = (200, "")

    def request(self, content_type: str, accept: str) -> None:
        self.request_processor = [
            RequestProcessor({"Content-Type": content_type, "Accept": accept})
        ]

    def get_request_header(self, idx: int, key: str) -> str | None:
        return self.request_processor[idx].get_request_property(key)

    def get_all_request_header(self, idx: int) -> dict[str, str]:
        return self.request_processor[idx].get_request_properties()

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.response_content_types[idx] = value

    def get_response_content_type(self, idx: int) -> str | None:
        return self.response_content_types.get(idx)

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.status = (code, phrase)


class Dispatch:
    """The handlers of one script as the image resolves them, and how it calls them."""

    def __init__(self, module: Any, serving: dict[str, str], model_dir: str) -> None:
        self.stack = serving.get("stack", "containers")
        self.context = ServingContext(model_dir)
        defaults = default_handlers(serving.get("framework", ""))
        own = {name: getattr(module, name, None) for name in SERVING_HANDLERS}
        self.transform_fn = getattr(module, "transform_fn", None)
        self.conflict = bool(self.transform_fn) and any(own.values())
        self.model_fn = getattr(module, "model_fn", None) or _default_model_fn
        self.defaulted = [name for name in SERVING_HANDLERS if not own[name]]
        self.handlers = {name: own[name] or defaults[name] for name in SERVING_HANDLERS}

    def call(self, func: Callable[..., Any], *args: Any) -> Any:
        """The toolkit's ``_run_handler_function``; sagemaker-containers calls plainly."""
        if self.stack != "toolkit":
            return func(*args)
        count = len(inspect.signature(func).parameters)
        if count == len(args):
            return func(*args)
        if count == len(args) + 1:
            return func(*args, self.context)
        raise TypeError(
            "{} takes {} arguments but {} were given.".format(
                getattr(func, "__name__", "handler"), count, len(args)
            )
        )

    def stage_name(self, name: str) -> str:
        return name + " (the image's default)" if name in self.defaulted else name

    def transform(
        self, model: Any, body: Any, content_type: str, accept: str, stage: list[str]
    ) -> Any:
        self.context.request(content_type, accept)
        if self.transform_fn:
            stage[0] = "transform_fn"
            return self.call(self.transform_fn, model, body, content_type, accept)
        stage[0] = self.stage_name("input_fn")
        data = self.call(self.handlers["input_fn"], body, content_type)
        stage[0] = self.stage_name("predict_fn")
        prediction = self.call(self.handlers["predict_fn"], data, model)
        stage[0] = self.stage_name("output_fn")
        return self.call(self.handlers["output_fn"], prediction, accept)


# Flask (under sagemaker-containers) sends a bare str or bytes as text/html.
FLASK_DEFAULT_TYPE = "text/html; charset=utf-8"


def encode_response(
    result: Any, stack: str = "toolkit"
) -> tuple[bytes, Any, str | None, int | None]:
    """(body bytes, content type or None, a note, status or None) of what output_fn or
    transform_fn returned.

    A tuple is (body, content type), as both stacks read it. A response object (anything with
    ``get_data()``: Flask, werkzeug, sagemaker-containers' worker.Response) gives its body,
    content type and status. str is sent as UTF-8, bytes as they are; without a content type the
    toolkit sends the Accept type (None here) and Flask under sagemaker-containers ``text/html``.
    Any other value is JSON-encoded (with a note), as Flask does with a dict.
    """
    content_type = None
    status = None
    if isinstance(result, tuple) and len(result) >= 2:
        result, content_type = result[0], result[1]
    if callable(getattr(result, "get_data", None)) and hasattr(result, "status_code"):
        content_type = getattr(result, "content_type", None) or content_type
        status = int(result.status_code)
        result = result.get_data()
    note = None
    if stack == "containers" and content_type is None and isinstance(result, (str, bytes)):
        content_type = FLASK_DEFAULT_TYPE
        note = (
            f"the handler returned a bare {type(result).__name__} without a content type, which "
            "the image's Flask server sends as text/html: return (body, content_type) or a Response"
        )
    if isinstance(result, str):
        return result.encode("utf-8"), content_type, note, status
    if isinstance(result, (bytes, bytearray, memoryview)):
        return bytes(result), content_type, note, status
    try:
        body = json.dumps(result).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"the response is a {type(result).__name__}, which serving cannot send: "
            "return str or bytes"
        ) from exc
    note = f"the handler returned a {type(result).__name__}; it was JSON-encoded"
    if stack == "containers" and content_type is None:
        content_type = "application/json"
    return body, content_type, note, status


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
    dispatch: Dispatch,
    model: Any,
    sample: dict[str, Any],
    reporter: Reporter,
    index: int,
    model_dir: str,
) -> None:
    """Send one request through the handlers and report the raw response or the failure."""
    content_type = sample["content_type"]
    accept = sample["accept"]
    body = base64.b64decode(sample["body_b64"])  # type: Any
    if content_type in UTF8_CONTENT_TYPES:
        # Undecodable bytes (the toolkit would fail too) go to input_fn as they are.
        with contextlib.suppress(UnicodeDecodeError):
            body = body.decode("utf-8")
    stage = ["transform_fn"]
    try:
        result = dispatch.transform(model, body, content_type, accept, stage)
        response, response_type, note, status = encode_response(result, dispatch.stack)
    except BaseException as exc:  # the model's own failure is what we report
        reporter.send(
            event="sample", index=index, ok=False, stage=stage[0], error=error_info(exc, model_dir)
        )
        return
    if len(response) > MAX_RESPONSE_BYTES:
        message = f"the response is {len(response)} bytes (at most {MAX_RESPONSE_BYTES})"
        reporter.send(
            event="sample",
            index=index,
            ok=False,
            stage=stage[0],
            error={"type": "ResponseTooLarge", "message": message, "where": ""},
        )
        return
    reporter.send(
        event="sample",
        index=index,
        ok=True,
        body_b64=base64.b64encode(response).decode("ascii"),
        content_type=None if response_type is None else str(response_type),
        status=status,
        note=note,
    )


def load(request: dict[str, Any], reporter: Reporter) -> tuple[Dispatch, Any] | None:
    """Import the script, resolve its handlers and load the model; None after a fatal event."""
    model_dir = request["model_dir"]
    try:
        module = load_entry_point(request["code_dir"], request["entry_point"])
    except BaseException as exc:  # whatever the import raised, SystemExit too
        reporter.send(event="fatal", stage="import", error=error_info(exc, model_dir))
        return None
    dispatch = Dispatch(module, request.get("serving") or {}, model_dir)
    if dispatch.conflict:
        reporter.send(event="fatal", stage="handlers", conflict=True)
        return None
    if not callable(getattr(module, "model_fn", None)):
        reporter.send(event="fatal", stage="handlers", missing=["model_fn"])
        return None
    try:
        model = dispatch.call(dispatch.model_fn, model_dir)
    except BaseException as exc:
        reporter.send(event="fatal", stage="model_fn", error=error_info(exc, model_dir))
        return None
    reporter.send(event="loaded", defaulted=[] if dispatch.transform_fn else dispatch.defaulted)
    return dispatch, model


def main(argv: list[str]) -> int:
    """Run the request in ``argv[1]``, writing events to ``argv[2]``."""
    sys.dont_write_bytecode = True
    request = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    code_dir = request["code_dir"]
    with open(argv[2], "w", encoding="utf-8") as stream:  # noqa: PTH123 - a plain text stream
        reporter = Reporter(stream)
        for extra in reversed(request.get("extra_paths") or []):
            sys.path.insert(0, extra)
            site.addsitedir(extra)  # its .pth files too, as an installed site would be
        sys.path.insert(0, code_dir)
        loaded = load(request, reporter)
        if loaded is None:
            return 0
        dispatch, model = loaded
        for index, sample in enumerate(request["samples"]):
            run_sample(dispatch, model, sample, reporter, index, request["model_dir"])
        reporter.send(event="done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
