"""The Python entry points: ``mimsreg.register`` and ``mimsreg.plan_registration``.

A thin shell over the engine's register flow (:mod:`mimsreg.engine.register`): it turns a
configuration (object, mapping or file) into a spec, an inventory URI into a backend, and
``check=True`` into the conformance check.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mimsreg._inflate import host_inflater
from mimsreg.check import CheckReport, check_model
from mimsreg.config import ModelRegistrationConfig
from mimsreg.engine import register as engine
from mimsreg.engine.execute import RegistrationResult
from mimsreg.engine.inventory import Inventory, open_inventory
from mimsreg.engine.inventory.base import Progress
from mimsreg.engine.inventory.gc import (
    TEMPORARY_FOLDER_PREFIXES,
    Garbage,
    StoredObject,
    select_temporary_folders,
)
from mimsreg.engine.payload import PreparedPayload, prepare_payload
from mimsreg.engine.plan import RegistrationContext, RegistrationPlan
from mimsreg.engine.register import COPYING, INSPECTING, current_context
from mimsreg.engine.spec import RegistrationSpec
from mimsreg.engine.workdirs import in_use
from mimsreg.errors import CheckFailedError

__all__ = [
    "ConfigLike",
    "PreparedPayload",
    "collect_temporary_folders",
    "current_context",
    "plan_registration",
    "prepare_payload",
    "register",
    "run_check",
    "to_spec",
]

ConfigLike = ModelRegistrationConfig | RegistrationSpec | Mapping[str, Any] | str | Path


def to_spec(config: ConfigLike) -> RegistrationSpec:
    """A :class:`RegistrationSpec` from a config object, a spec, a mapping or a config file path."""
    if isinstance(config, RegistrationSpec):
        return config
    if isinstance(config, ModelRegistrationConfig):
        return config.to_spec()
    if isinstance(config, (str, Path)):
        return ModelRegistrationConfig.from_file(config).to_spec()
    return ModelRegistrationConfig.from_mapping(config).to_spec()


def plan_registration(
    model: str | Path,
    config: ConfigLike,
    regions: Sequence[str] | None = None,
    *,
    payload_sha256: str | None = None,
    context: RegistrationContext | None = None,
    progress: Progress | None = None,
) -> RegistrationPlan:
    """Inspect ``model`` and plan its registration; raises before anything is written."""
    return engine.plan_registration(
        to_spec(config),
        model,
        regions,
        context=context,
        payload_sha256=payload_sha256,
        progress=_only(INSPECTING, progress),
        inflater=host_inflater(),
    )


def _only(phase: str, progress: Progress | None) -> engine.ProgressHook | None:
    """A progress hook handing ``progress`` to one phase of the register flow."""
    if progress is None:
        return None
    return lambda current, _total: nullcontext(progress if current == phase else None)


def _opener(inventory: str | Inventory) -> engine.InventoryOpener:
    """An inventory URI is opened (and closed) by the flow; a backend object is used as given."""
    if isinstance(inventory, str):
        return lambda regions: open_inventory(inventory)
    return lambda regions: nullcontext(inventory)


def run_check(
    model: str | Path,
    spec: RegistrationSpec,
    payload: Path,
    timeout: float = 60.0,
    *,
    isolation: str = "auto",
    install_requirements: bool = False,
    env: str = "current",
    python: str | None = None,
    wheelhouse: str | Path | None = None,
) -> CheckReport:
    """Run the conformance check; :class:`CheckFailedError` (nothing written) when it fails.
    ``isolation``, ``install_requirements``, ``env``, ``python`` and ``wheelhouse`` are
    :func:`~mimsreg.check.check_model`'s."""
    report = check_model(
        model,
        spec,
        payload=payload,
        timeout=timeout,
        isolation=isolation,
        install_requirements=install_requirements,
        env=env,
        python=python,
        wheelhouse=wheelhouse,
    )
    if not report.passed:
        reasons = [report.error] if report.error else []
        reasons += [f"{s.name}: {'; '.join(s.reasons)}" for s in report.samples if not s.passed]
        raise CheckFailedError(
            "the model failed its check, nothing was registered: " + " | ".join(reasons), report
        )
    return report


def register(
    model: str | Path,
    config: ConfigLike,
    regions: Sequence[str] | None = None,
    inventory: str | Inventory = "local",
    dry_run: bool = False,
    *,
    payload: str | Path | None = None,
    check: bool = False,
    check_timeout: float = 60.0,
    check_isolation: str = "auto",
    check_install_requirements: bool = False,
    check_env: str = "current",
    check_python: str | None = None,
    progress: Progress | None = None,
) -> list[RegistrationResult]:
    """Register a packaged model in every region (default: the config's region).

    Returns one :class:`RegistrationResult` per region with status ``created``, ``unchanged`` or
    ``failed`` (``planned`` for a dry run, which writes nothing). Bad input raises a
    :class:`mimsreg.BadInputError` subclass before anything is written. ``payload`` is a custom
    sample payload (checked against the schema); without it one is generated. ``check=True``
    first runs the model's handlers on the payload (:func:`mimsreg.check.check_model`) and raises
    :class:`mimsreg.errors.CheckFailedError` without writing anything when they fail;
    ``check_isolation`` is its ``isolation`` (``auto``, ``bwrap``, ``none``);
    ``check_install_requirements``, ``check_env`` and ``check_python`` are its
    ``install_requirements``, ``env`` and ``python``.
    """
    spec = to_spec(config)

    def run_model_check(model_path: Path, payload_archive: Path) -> None:
        run_check(
            model_path,
            spec,
            payload_archive,
            check_timeout,
            isolation=check_isolation,
            install_requirements=check_install_requirements,
            env=check_env,
            python=check_python,
        )

    registration = engine.register(
        spec,
        model,
        regions,
        _opener(inventory),
        payload=payload,
        dry_run=dry_run,
        check=run_model_check if check else None,
        progress=_only(COPYING, progress),
        inflater=host_inflater(),
    )
    return registration.results


def _folder_size(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_size if path.is_file() else 0
        except OSError:  # removed meanwhile
            continue
    return total


def collect_temporary_folders(
    older_than: float, *, dry_run: bool = False, folder: str | Path | None = None
) -> list[Garbage]:
    """Remove this user's ``mimsreg-payload-*`` / ``mimsreg-check-*`` folders that killed
    processes left in ``folder`` (default: the system's temporary folder), once older than
    ``older_than`` seconds; return them (``removed`` False in a dry run)."""
    root = Path(folder or tempfile.gettempdir())
    user = os.getuid() if hasattr(os, "getuid") else None
    entries = []
    for path in sorted(root.iterdir()):
        if not path.name.startswith(TEMPORARY_FOLDER_PREFIXES) or path.is_symlink():
            continue
        status = path.stat()
        # A folder a live process still holds is never garbage, however old (engine.workdirs).
        if path.is_dir() and (user is None or status.st_uid == user) and not in_use(path):
            modified = datetime.fromtimestamp(status.st_mtime, timezone.utc)
            entries.append(StoredObject(path.name, str(path), _folder_size(path), modified))
    chosen = select_temporary_folders(entries, datetime.now(timezone.utc), older_than)
    if dry_run:
        return chosen
    for item in chosen:
        shutil.rmtree(item.location, ignore_errors=True)
    return [replace(item, removed=True) for item in chosen]
