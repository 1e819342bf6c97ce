"""Conformance check: does a packaged model accept its declared inputs and return its outputs?

:func:`check_model` extracts ``model.tar.gz`` safely into a temporary folder, then runs the model's
inference handlers in a separate Python process (``mimsreg/check/_child.py``) with a time limit, the
way SageMaker's serving containers call them, and sends every sample payload with its content type
and the declared response type as ``Accept``. The child returns each raw response as JSON text
(nothing is unpickled); this process checks it against the declared output variables.

The modules: :mod:`.run` (the child process), :mod:`.judge` (its answers against the declared
outputs), :mod:`.report` (the verdicts), ``_child.py`` (the child itself, standard library only).

The model's code runs in a sandbox (:mod:`.sandbox`: bubblewrap, or with ``isolation="none"`` or
where bubblewrap does not work, a scrubbed environment and resource limits and an
:class:`~mimsreg.errors.IsolationWarning` naming what is not contained).

The model's ``code/requirements.txt`` is installed only on request, with pip, in the same sandbox,
into a temporary folder put on the child's path; without it the child sees the packages of this
Python.

``env="image"`` runs the child instead in an environment that mirrors the configured serving image
(:mod:`.environment`: the image's Python, framework and serving packages), built once and cached
by content; the requirements then go on top of it, as above. The child dispatches as that image
does whatever the environment (``docs/check.md``).
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Union

from mimsreg.engine.inputs import refuse_special_file
from mimsreg.engine.payload import PayloadSample, generate_samples, load_payload
from mimsreg.engine.spec import RegistrationSpec
from mimsreg.engine.workdirs import working_folder
from mimsreg.errors import BadInputError, InvalidPackageError, IsolationWarning, PayloadError

if TYPE_CHECKING:
    from mimsreg.config import ModelRegistrationConfig
from mimsreg.check.environment import (
    EnvironmentChoice,
    choose_environment,
    default_cache_dir,
    ensure_environment,
    serving_facts,
)
from mimsreg.check.judge import _failed, _results
from mimsreg.check.report import CheckReport, SampleResult
from mimsreg.check.run import (
    DEFAULT_INSTALL_TIMEOUT,
    _ChildRun,
    _install_requirements,
    _run_child,
)
from mimsreg.check.sandbox import ISOLATIONS, Isolation, Limits, resolve_isolation

__all__ = ["DEFAULT_TIMEOUT", "ISOLATIONS", "CheckReport", "Limits", "SampleResult", "check_model"]

DEFAULT_TIMEOUT = 60.0

ConfigOrSpec = Union["ModelRegistrationConfig", RegistrationSpec, str, "os.PathLike[str]"]


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


def _inputs(
    spec: RegistrationSpec,
    payload: str | os.PathLike[str] | Sequence[PayloadSample] | None,
    request: str | os.PathLike[str] | None,
    content_type: str | None,
) -> tuple[list[PayloadSample], list[str]]:
    """The samples to send and notes: the payload's, or the one request sent verbatim."""
    if request is not None and payload is not None:
        raise BadInputError("give a payload or a request, not both")
    if request is None and content_type is not None:
        raise BadInputError("--content-type goes with --request")
    if request is not None:
        return [_request_sample(spec, request, content_type)], []
    return _samples(spec, payload)


def _request_sample(
    spec: RegistrationSpec, request: str | os.PathLike[str], content_type: str | None
) -> PayloadSample:
    """A request body sent verbatim with its content type (records unknown)."""
    path = Path(request)
    if content_type is None:
        raise BadInputError(f"--request {str(path)!r} needs --content-type (the body's type)")
    if content_type not in spec.content_types:
        raise BadInputError(
            f"--content-type {content_type!r} is not a declared content type "
            f"({', '.join(spec.content_types)})"
        )
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"cannot read the request {str(path)!r}: {exc.strerror}") from exc
    return PayloadSample(path.name, content_type, body, ())


def _environment(
    choice: EnvironmentChoice,
    cache_dir: str | os.PathLike[str] | None,
    install_timeout: float,
    notes: list[str],
) -> tuple[str, str | None]:
    """(interpreter, why it could not be built) of the chosen environment, built or cached; a
    note says which it is."""
    if choice.image is None:
        if choice.note is not None:
            notes.append(choice.note)
        return choice.python, None
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    built = ensure_environment(choice.image, choice.python, cache, install_timeout)
    if isinstance(built, str):
        return choice.python, built
    notes.append(built.describe())
    return built.python, None


def _code_dir(model: str | os.PathLike[str], model_dir: Path, spec: RegistrationSpec) -> Path:
    """The model's code/ folder; bad input without the entry point in it."""
    code_dir = model_dir / "code"
    if not (code_dir / spec.inference_entry_point).is_file():
        raise InvalidPackageError(
            f"{str(model)!r} has no code/{spec.inference_entry_point}: the inference code belongs "
            "under code/"
        )
    return code_dir


def _model_dir(model: Path, work: Path) -> Path:
    """The model's folder: ``model`` itself if it is an extracted model (it has ``code/``), else
    the archive (``model``, or the one archive in the folder ``model``) extracted safely."""
    refuse_special_file(model, "model", InvalidPackageError)
    if model.is_dir():
        if (model / "code").is_dir():
            return model
        if not any(entry.name.endswith((".tar.gz", ".tgz", ".tar")) for entry in model.iterdir()):
            raise InvalidPackageError(
                f"{str(model)!r} is neither an extracted model (it has no code/ folder) nor a "
                "folder holding a model archive"
            )
    from mimsreg._inflate import host_inflater
    from mimsreg.engine.package import extract_package

    target = work / "model"
    extract_package(model, target, inflater=host_inflater())
    return target


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
    isolation: str = "auto",
    limits: Limits | None = None,
    wheelhouse: str | os.PathLike[str] | None = None,
    index_url: str | None = None,
    env: str = "current",
    request: str | os.PathLike[str] | None = None,
    content_type: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> CheckReport:
    """Run the packaged model's handlers on sample payloads and check the responses.

    ``model`` is a ``model.tar.gz`` (extracted safely to a temporary folder) or an extracted model
    folder. ``config_or_spec`` is a :class:`~mimsreg.config.ModelRegistrationConfig`, a
    :class:`~mimsreg.engine.spec.RegistrationSpec` or a configuration file. ``payload`` is a custom
    payload (see :func:`mimsreg.engine.payload.load_payload`) or samples; by default one sample per
    declared content type is generated from the configuration. ``timeout`` (seconds) bounds the
    child process as a whole; it is killed when it runs over. ``install_requirements`` pip-installs
    ``code/requirements.txt`` first (into a temporary folder). ``python`` is the interpreter of the
    child (default: this one), or with ``env="image"`` the base of the image environment:
    ``env`` is ``current``, ``image`` (see :mod:`.environment`; cached under ``cache_dir``) or
    ``auto``. ``request``: a body sent verbatim with ``content_type`` instead of samples.

    ``isolation``: ``auto`` (bubblewrap when it works here, else ``none``), ``bwrap`` (bad input
    when it does not work) or ``none`` (a scrubbed environment and resource limits only); without
    bubblewrap an :class:`~mimsreg.errors.IsolationWarning` says what was not contained and the
    report's ``warnings`` hold it. ``limits`` overrides :meth:`Limits.for_timeout`. The
    requirements come from ``wheelhouse`` (a folder of wheels, no network) or ``index_url``
    (default: pip's, PyPI), never from the model's file.

    Raises :class:`~mimsreg.errors.BadInputError` subclasses for a bad configuration, archive or
    payload; a model that fails is a report with ``passed`` False, not an exception.
    """
    if not timeout > 0:
        raise BadInputError(f"the timeout must be a positive number of seconds, got {timeout!r}")
    started = time.monotonic()
    sandbox = resolve_isolation(isolation)
    if sandbox.warning is not None:
        warnings.warn(sandbox.warning, IsolationWarning, stacklevel=2)
    spec = _resolve_spec(config_or_spec)
    samples, notes = _inputs(spec, payload, request, content_type)
    choice = choose_environment(env, spec, python)
    serving = serving_facts(spec)
    with working_folder("mimsreg-check-") as work:
        model_dir = _model_dir(Path(model), work).resolve()
        code_dir = _code_dir(model, model_dir, spec)
        requirements_skipped = (
            code_dir / "requirements.txt"
        ).is_file() and not install_requirements
        interpreter, failure = _environment(choice, cache_dir, install_timeout, notes)
        extra_paths: list[Path] = []
        if failure is None:
            extra_paths, failure = _requirements(
                interpreter,
                model_dir,
                work,
                sandbox,
                notes,
                install=install_requirements,
                timeout=install_timeout,
                wheelhouse=_wheelhouse(wheelhouse),
                index_url=index_url,
            )
        if failure is not None:
            return _report_all_failed(model, spec, samples, failure, notes, started, sandbox)
        run = _run_child(
            interpreter,
            model_dir,
            code_dir,
            spec,
            samples,
            extra_paths,
            work,
            timeout,
            isolation=sandbox,
            limits=limits or Limits.for_timeout(timeout),
            serving=serving,
        )
    return _report(
        model,
        spec,
        samples,
        run,
        notes,
        started,
        sandbox,
        timeout=timeout,
        serving=serving,
        verbatim=request is not None,
        requirements_skipped=requirements_skipped,
    )


def _report(
    model: str | os.PathLike[str],
    spec: RegistrationSpec,
    samples: Sequence[PayloadSample],
    run: _ChildRun,
    notes: Sequence[str],
    started: float,
    sandbox: Isolation,
    *,
    timeout: float,
    serving: Mapping[str, str],
    verbatim: bool,
    requirements_skipped: bool,
) -> CheckReport:
    """The child's answers judged into the report."""
    results, error, run_notes = _results(
        run, samples, spec, timeout, serving=serving, verbatim=verbatim
    )
    if error and "ModuleNotFoundError" in error and requirements_skipped:
        error += " (code/requirements.txt was not installed: try --install-requirements)"
    failed = error is not None or not all(result.passed for result in results)
    return CheckReport(
        model=str(model),
        entry_point=f"code/{spec.inference_entry_point}",
        samples=tuple(results),
        error=error,
        notes=(*notes, *run_notes),
        log_tail=run.log_tail if failed else (),
        duration_seconds=time.monotonic() - started,
        isolation=sandbox.mode,
        warnings=_warnings(sandbox),
    )


def _requirements(
    interpreter: str,
    model_dir: Path,
    work: Path,
    sandbox: Isolation,
    notes: list[str],
    *,
    install: bool,
    timeout: float,
    wheelhouse: Path | None,
    index_url: str | None,
) -> tuple[list[Path], str | None]:
    """The folders the model's requirements add to the child's path, and why installing them
    failed (or None); a note either way."""
    requirements = model_dir / "code" / "requirements.txt"
    if not requirements.is_file():
        return [], None
    if not install:
        notes.append("code/requirements.txt was not installed (--install-requirements installs it)")
        return [], None
    target = work / "site-packages"
    failure = _install_requirements(
        interpreter,
        requirements,
        target,
        timeout,
        isolation=sandbox,
        model_dir=model_dir,
        work=work,
        wheelhouse=wheelhouse,
        index_url=index_url,
    )
    if failure is None:
        notes.append("installed code/requirements.txt into a temporary folder")
    return [target], failure


def _warnings(sandbox: Isolation) -> tuple[str, ...]:
    return () if sandbox.warning is None else (sandbox.warning,)


def _wheelhouse(wheelhouse: str | os.PathLike[str] | None) -> Path | None:
    if wheelhouse is None:
        return None
    folder = Path(wheelhouse).absolute()
    if not folder.is_dir():
        raise BadInputError(f"the wheelhouse {str(wheelhouse)!r} is not a folder")
    return folder


def _report_all_failed(
    model: str | os.PathLike[str],
    spec: RegistrationSpec,
    samples: Sequence[PayloadSample],
    error: str,
    notes: Sequence[str],
    started: float,
    sandbox: Isolation,
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
        isolation=sandbox.mode,
        warnings=_warnings(sandbox),
    )
