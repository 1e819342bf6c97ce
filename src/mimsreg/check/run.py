"""Running the model's handlers in a child Python (``_child.py``) with a time limit, its
requirements optionally pip-installed into a temporary folder first."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mimsreg.engine.payload import (
    PayloadSample,
)
from mimsreg.engine.spec import RegistrationSpec
from mimsreg.errors import BadInputError

if TYPE_CHECKING:
    pass

DEFAULT_INSTALL_TIMEOUT = 900.0
CHILD_SCRIPT = Path(__file__).with_name("_child.py")
_LOG_TAIL_LINES = 20


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
    *,
    serving: Mapping[str, str] | None = None,
) -> _ChildRun:
    """``serving``: the configured image's facts the child dispatches by (``environment``)."""
    accept = spec.response_types[0]
    request = {
        "model_dir": str(model_dir),
        "code_dir": str(code_dir),
        "entry_point": spec.inference_entry_point,
        "extra_paths": [str(path) for path in extra_paths],
        "serving": dict(serving or {}),
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
