"""The Python entry points: ``mimsreg.register`` and ``mimsreg.plan_registration``.

The I/O shell around the pure core: load the configuration, inspect the archive, build the plan,
then hand it to the executor with an inventory backend.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mimsreg.config import ModelRegistrationConfig
from mimsreg.execute import RegistrationResult, execute_plan, planned_results
from mimsreg.inventory import Inventory, open_inventory
from mimsreg.inventory.base import Progress
from mimsreg.package import inspect_package
from mimsreg.plan import RegistrationContext, RegistrationPlan, build_plan
from mimsreg.spec import RegistrationSpec

__all__ = ["ConfigLike", "current_context", "plan_registration", "register", "to_spec"]

ConfigLike = ModelRegistrationConfig | RegistrationSpec | Mapping[str, Any] | str | Path

PIPELINE_EXECUTION_ENV = "MIMSREG_PIPELINE_EXECUTION_ID"


def to_spec(config: ConfigLike) -> RegistrationSpec:
    """A :class:`RegistrationSpec` from a config object, a spec, a mapping or a config file path."""
    if isinstance(config, RegistrationSpec):
        return config
    if isinstance(config, ModelRegistrationConfig):
        return config.to_spec()
    if isinstance(config, (str, Path)):
        return ModelRegistrationConfig.from_file(config).to_spec()
    return ModelRegistrationConfig.from_mapping(config).to_spec()


def current_context() -> RegistrationContext:
    """Who is registering: the OS user, the host, and the pipeline execution id when set."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        user = "unknown"
    return RegistrationContext(
        user=user,
        host=socket.gethostname() or "unknown",
        pipeline_execution_id=os.environ.get(PIPELINE_EXECUTION_ENV) or None,
    )


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
    spec = to_spec(config)
    manifest = inspect_package(model, entry_point=spec.inference_entry_point, progress=progress)
    return build_plan(
        spec,
        manifest,
        regions,
        context=context or current_context(),
        payload_sha256=payload_sha256,
    )


def register(
    model: str | Path,
    config: ConfigLike,
    regions: Sequence[str] | None = None,
    inventory: str | Inventory = "local",
    dry_run: bool = False,
    *,
    progress: Progress | None = None,
) -> list[RegistrationResult]:
    """Register a packaged model in every region (default: the config's region).

    Returns one :class:`RegistrationResult` per region with status ``created``, ``unchanged`` or
    ``failed`` (``planned`` for a dry run, which writes nothing). Bad input raises a
    :class:`mimsreg.BadInputError` subclass before anything is written.
    """
    plan = plan_registration(model, config, regions)
    if dry_run:
        return planned_results(plan)
    backend = open_inventory(inventory) if isinstance(inventory, str) else inventory
    try:
        return execute_plan(plan, backend, plan.manifest.path, progress=progress)
    finally:
        if isinstance(inventory, str):
            backend.close()
