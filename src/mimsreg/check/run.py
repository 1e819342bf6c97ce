"""Running the model's handlers in a child Python (``_child.py``) with a time limit, its
requirements optionally pip-installed into a temporary folder first; both in the sandbox
(:mod:`.sandbox`), and everything read back from the child capped in size."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mimsreg.check.requirements import safe_requirements
from mimsreg.check.sandbox import Isolation, Limits, sandbox_command
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
# What is read back from the child, which the model's code can write too: one event line at most
# holds a response (capped at 16 MiB by the child) in base64; other strings are cut.
MAX_EVENT_LINE_BYTES = 24 * 1024**2
MAX_EVENT_TEXT = 4000
# pip's wheels may hold files larger than the model's limit (CUDA libraries: 2 GiB and more), and
# pip downloads them into the sandbox's /tmp.
_INSTALL_SIZE = 16 * 1024**3


@dataclass
class _ChildRun:
    events: list[dict[str, Any]]
    timed_out: bool
    returncode: int | None
    log_tail: tuple[str, ...]


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux's /proc/PID/task/*/children; empty elsewhere)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        for children in Path(f"/proc/{todo.pop()}/task").glob("*/children"):
            with contextlib.suppress(OSError, ValueError):  # gone meanwhile
                kids = [int(child) for child in children.read_text().split()]
                found += kids
                todo += kids
    return found


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the child and whatever it started: its process group on POSIX, and every
    descendant found under it first. bubblewrap's sandbox init runs in a session of its own
    (``--new-session``), out of the group's reach; ``--die-with-parent`` takes it down, except
    when the kill lands while bubblewrap is still setting it up (a timeout of milliseconds
    left such inits behind). Stopping the parent first means no new descendant appears."""
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.kill(process.pid, signal.SIGSTOP)
            below = _descendants(process.pid)
            os.killpg(process.pid, signal.SIGKILL)
            for pid in below:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
    else:  # pragma: no cover - Windows has no process groups to kill
        process.kill()
    process.wait()


def _tail(path: Path) -> tuple[str, ...]:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 16_384))
        text = handle.read().decode("utf-8", "replace")
    return tuple(text.splitlines()[-_LOG_TAIL_LINES:])


def _capped(value: Any, key: str = "") -> Any:
    """``value`` with every string but a response body cut to ``MAX_EVENT_TEXT`` characters."""
    if isinstance(value, str) and key != "body_b64" and len(value) > MAX_EVENT_TEXT:
        return value[:MAX_EVENT_TEXT] + "..."
    if isinstance(value, dict):
        return {str(name): _capped(item, str(name)) for name, item in value.items()}
    if isinstance(value, list):
        return [_capped(item) for item in value[:100]]
    return value


def _read_events(path: Path, max_events: int | None = None) -> list[dict[str, Any]]:
    """The child's events, at most ``max_events`` of them, none longer than
    ``MAX_EVENT_LINE_BYTES`` (longer lines are skipped unread), strings capped."""
    events: list[dict[str, Any]] = []
    try:
        handle = path.open("rb")
    except OSError:  # the child died before it opened the file
        return []
    with handle:
        while max_events is None or len(events) < max_events:
            line = handle.readline(MAX_EVENT_LINE_BYTES + 1)
            if not line:
                break
            if len(line) > MAX_EVENT_LINE_BYTES:
                while line and not line.endswith(b"\n"):  # skip the rest of an oversized line
                    line = handle.readline(MAX_EVENT_LINE_BYTES)
                continue
            try:
                event = json.loads(line)
                if isinstance(event, dict):
                    events.append(_capped(event))
            # The last line of a child killed while writing; or nesting deep enough to exhaust
            # the stack, which only a hostile model writes.
            except (ValueError, RecursionError):
                continue
    return events


def _require_python(python: str) -> None:
    """A missing interpreter is bad input (inside the sandbox it would only be an exit code)."""
    found = shutil.which(python)
    if found is None or not os.access(found, os.X_OK):
        raise BadInputError(f"cannot run the Python {python!r}: not found or not executable")


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
    isolation: Isolation,
    limits: Limits,
    read_only: Sequence[Path] = (),
    serving: Mapping[str, str] | None = None,
) -> _ChildRun:
    """Run the child in the sandbox; ``read_only`` adds folders it must see (an environment);
    ``serving``: the configured image's facts the child dispatches by (``environment``)."""
    _require_python(python)
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
    results_path.touch()  # the one file the sandboxed child may write
    # What the serving container sets (SAGEMAKER_SUBMIT_DIRECTORY is /opt/ml/model/code there).
    env = {
        "SAGEMAKER_PROGRAM": spec.inference_entry_point,
        "SAGEMAKER_SUBMIT_DIRECTORY": str(code_dir),
        "SAGEMAKER_REGION": spec.region,
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SM_MODEL_DIR": str(model_dir),
    }
    command = [python, "-I", "-B", str(CHILD_SCRIPT), str(request_path), str(results_path)]
    sandboxed = sandbox_command(
        command,
        model_dir=model_dir,
        work_dir=work,
        isolation=isolation,
        interpreter=python,
        limits=limits,
        read_only=[CHILD_SCRIPT.parent, *extra_paths, *read_only],
        writable=[results_path],
        env=env,
    )
    timed_out = False
    with log_path.open("wb") as log:
        # Results go to a file rather than a pipe: a full pipe would stall the child into a timeout.
        try:
            process = subprocess.Popen(
                sandboxed.argv,
                cwd=sandboxed.cwd,
                env=sandboxed.env,
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
        _read_events(results_path, max_events=2 * len(samples) + 16),
        timed_out,
        None if timed_out else process.returncode,
        _tail(log_path),
    )


def _pip_command(
    python: str, requirements: Path, target: Path, wheelhouse: Path | None, index_url: str | None
) -> list[str]:
    """pip, isolated from its configuration and environment, installing wheels only (no build
    runs a package's code), from the index the user chose."""
    command = [python, "-m", "pip", "install", "--isolated", "--only-binary=:all:", "--quiet"]
    command += ["--disable-pip-version-check", "--no-input", "--no-cache-dir"]
    if wheelhouse is not None:
        command += ["--no-index", "--find-links", str(wheelhouse)]
    elif index_url is not None:
        command += ["--index-url", index_url]
    return [*command, "--target", str(target), "-r", str(requirements)]


def _install_requirements(
    python: str,
    requirements: Path,
    target: Path,
    timeout: float,
    *,
    isolation: Isolation,
    model_dir: Path,
    work: Path,
    wheelhouse: Path | None = None,
    index_url: str | None = None,
    read_only: Sequence[Path] = (),
) -> str | None:
    """pip install the model's plain requirements into ``target``, in the sandbox (with the
    network only when there is no ``wheelhouse``); the reason it failed, or None. A line that
    names an index, an option, a URL or a path is :class:`InvalidPackageError`."""
    _require_python(python)
    accepted = work / "requirements-accepted.txt"
    accepted.write_text("".join(f"{line}\n" for line in safe_requirements(requirements)))
    target.mkdir(exist_ok=True)
    limits = Limits.for_timeout(timeout)
    sandboxed = sandbox_command(
        _pip_command(python, accepted, target, wheelhouse, index_url),
        model_dir=model_dir,
        work_dir=work,
        isolation=isolation,
        interpreter=python,
        limits=replace(limits, file_size_bytes=_INSTALL_SIZE, scratch_bytes=_INSTALL_SIZE),
        read_only=[*([wheelhouse] if wheelhouse is not None else []), *read_only],
        writable=[target],
        network=wheelhouse is None,
        cwd=work,
    )
    process = subprocess.Popen(
        sandboxed.argv,
        cwd=sandboxed.cwd,
        env=sandboxed.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=os.name == "posix",
    )
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(process)  # pip and the sandbox with it, as for the model's child
        process.communicate()
        return f"pip install -r code/requirements.txt took longer than {timeout:g} s; stopped"
    if process.returncode != 0:
        lines = stderr.decode("utf-8", "replace").strip().splitlines()
        last = lines[-1][:500] if lines else "(no output)"
        return f"pip install -r code/requirements.txt failed (exit {process.returncode}): {last}"
    return None
