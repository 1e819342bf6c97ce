"""The one register flow: payload → inspect → plan → optional check → execute.

``mimsreg.register`` (the Python API), ``mimsreg register`` (the CLI) and the processing job
(:mod:`mimsreg.engine.job`) are thin shells over :func:`register`: each brings its configuration
as a :class:`RegistrationSpec`, its inventory, and, when it wants them, a check and progress hooks.
Bad input raises a :class:`~mimsreg.engine.errors.BadInputError` before anything is written.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

from mimsreg.engine.execute import (
    RegistrationResult,
    execute_plan,
    planned_results,
    preview_plan,
)
from mimsreg.engine.package import Inflater, inspect_package
from mimsreg.engine.payload import prepare_payload
from mimsreg.engine.plan import ImageResolver, RegistrationContext, RegistrationPlan, build_plan
from mimsreg.engine.workdirs import working_folder

if TYPE_CHECKING:
    from mimsreg.engine.inventory.base import Inventory, Progress
    from mimsreg.engine.spec import RegistrationSpec

__all__ = [
    "COPYING",
    "INSPECTING",
    "PIPELINE_EXECUTION_ENV",
    "Check",
    "InventoryOpener",
    "ProgressHook",
    "Registration",
    "current_context",
    "plan_registration",
    "register",
]

PIPELINE_EXECUTION_ENV = "MIMSREG_PIPELINE_EXECUTION_ID"

# The phases a progress hook is told about, with the bytes each will count.
INSPECTING = "inspecting"  # reading the archive once (cumulative byte counts)
COPYING = "copying"  # writing the artifact to every region (byte counts per write)

# Aliases are evaluated at run time, where Python 3.9 has no `X | Y`.
ProgressHook = Callable[[str, int], AbstractContextManager[Union["Progress", None]]]
InventoryOpener = Callable[[Sequence[str]], AbstractContextManager["Inventory"]]
Check = Callable[[Path, Path], object]


@dataclass(frozen=True)
class Registration:
    """What :func:`register` did: the plan, and the result per region (planned on a dry run)."""

    plan: RegistrationPlan
    results: list[RegistrationResult]
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """Every region was created, found unchanged, or (dry run) planned."""
        return all(result.ok for result in self.results)


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


def _phase(
    hook: ProgressHook | None, phase: str, total: int
) -> AbstractContextManager[Progress | None]:
    return hook(phase, total) if hook is not None else nullcontext(None)


def plan_registration(
    spec: RegistrationSpec,
    model: str | Path,
    regions: Sequence[str] | None = None,
    *,
    context: RegistrationContext | None = None,
    payload_sha256: str | None = None,
    image_resolver: ImageResolver | None = None,
    progress: ProgressHook | None = None,
    inflater: Inflater | None = None,
) -> RegistrationPlan:
    """Inspect ``model`` in one streaming pass and plan its registration; writes nothing.

    ``inflater``: what inflates the archive (default the standard library's zlib; see
    :func:`~mimsreg.engine.package.inspect_package`)."""
    path = Path(model)
    size = path.stat().st_size if path.is_file() else 0
    with _phase(progress, INSPECTING, size) as inspected:
        manifest = inspect_package(
            path, entry_point=spec.inference_entry_point, progress=inspected, inflater=inflater
        )
    return build_plan(
        spec,
        manifest,
        regions,
        context=context or current_context(),
        payload_sha256=payload_sha256,
        image_resolver=image_resolver,
    )


def register(
    spec: RegistrationSpec,
    model: str | Path,
    regions: Sequence[str] | None,
    open_inventory: InventoryOpener,
    *,
    payload: str | Path | None = None,
    dry_run: bool = False,
    check: Check | None = None,
    context: RegistrationContext | None = None,
    image_resolver: ImageResolver | None = None,
    progress: ProgressHook | None = None,
    inflater: Inflater | None = None,
    ask_inventory: bool = False,
    on_result: Callable[[RegistrationResult], None] | None = None,
) -> Registration:
    """Register ``model`` in every region (default: the spec's).

    ``payload``: a custom sample payload, checked against the input variables (else one is
    generated). ``check(model, payload_archive)``: runs before anything is written and raises to
    stop. ``open_inventory(regions)``: the backend for the plan's regions, as a context manager
    (on a dry run it is opened only with ``ask_inventory``, to say per region ``would-create``
    or ``unchanged``; give an opener that only reads). ``progress(phase, total_bytes)``: a
    context manager giving the byte counter of the phase (:data:`INSPECTING`, :data:`COPYING`)
    or None. ``on_result(result)``: called as each region finishes (from its thread).
    ``inflater``: as for :func:`plan_registration`.
    """
    with working_folder("mimsreg-payload-") as work:
        prepared = prepare_payload(spec, payload, work)
        plan = plan_registration(
            spec,
            model,
            regions,
            context=context,
            payload_sha256=prepared.sha256,
            image_resolver=image_resolver,
            progress=progress,
            inflater=inflater,
        )
        if check is not None:
            check(Path(model), prepared.path)
        targets = [region.region for region in plan.regions]
        if dry_run and not ask_inventory:
            return Registration(plan, planned_results(plan), dry_run=True)
        if dry_run:
            with open_inventory(targets) as inventory:
                return Registration(plan, preview_plan(plan, inventory), dry_run=True)
        total = plan.manifest.size * len(plan.regions)
        with open_inventory(targets) as inventory, _phase(progress, COPYING, total) as copied:
            results = execute_plan(
                plan,
                inventory,
                plan.manifest.path,
                payload=prepared.path,
                progress=copied,
                on_result=on_result,
            )
        return Registration(plan, results)
