"""A stand-alone registration pipeline, as ``mimsreg pipeline`` renders it.

The pipeline has a ``PackagedModelUri`` parameter (default: the given ``s3://`` location), an
optional ``PayloadUri`` parameter, and one registration step per target region.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mimsreg.errors import BadInputError
from mimsreg.pipeline._adapter import load_adapter
from mimsreg.pipeline.builder import ModelRegistrationStepBuilder

__all__ = ["RenderedPipeline", "load_sdk_quietly", "render_pipeline"]

PIPELINE_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
MODEL_PARAMETER = "PackagedModelUri"
PAYLOAD_PARAMETER = "PayloadUri"


@dataclass(frozen=True)
class RenderedPipeline:
    """The builder that made the steps, the SDK ``Pipeline`` and its definition JSON."""

    builder: ModelRegistrationStepBuilder
    pipeline: Any
    definition: str


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # logging must never raise into the caller
            self.handleError(record)


def load_sdk_quietly() -> None:
    """Import the SDK quietly, its log lines kept off stdout (where the definition goes).

    The SDK logs configuration lookups at INFO on a handler of its own writing to stdout, unless
    the ``sagemaker`` logger has a handler already, and one of its modules runs
    ``logging.basicConfig(level=INFO)`` on import. For the CLI only: a library leaves logging to
    its caller.
    """
    # mimsreg, not its user, chose SDK v2: its "v2 is on the path of deprecation" notices (three
    # lines each for the package, ScriptProcessor and Pipeline) say nothing the user can act on.
    # An empty SAGEMAKER_SUPPRESS_V2_WARNING brings them back.
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    sdk = logging.getLogger("sagemaker")
    # SDK v3 gives the logger a NullHandler: that is no handler for this purpose.
    if not [h for h in sdk.handlers if not isinstance(h, logging.NullHandler)]:
        sdk.addHandler(_StderrHandler())
        sdk.propagate = False  # the root handler that basicConfig() installs would repeat them
    sdk.setLevel(logging.WARNING)
    logging.getLogger("sagemaker.config").setLevel(logging.WARNING)
    # "Popping out 'ProcessingJobName'": the SDK's notice about what we rely on (v2, v3).
    logging.getLogger("sagemaker.workflow.utilities").setLevel(logging.ERROR)
    logging.getLogger("sagemaker.core.workflow.utilities").setLevel(logging.ERROR)
    root = logging.getLogger()
    level = root.level
    load_adapter()
    root.setLevel(max(level, logging.WARNING))


def render_pipeline(
    config: Any,
    packaged_model: str,
    *,
    regions: Sequence[str] | None = None,
    role: str | None = None,
    bucket: str | None = None,
    payload: str | None = None,
    name: str | None = None,
    sagemaker_session: Any = None,
) -> RenderedPipeline:
    """Build the registration pipeline of ``config`` and render its definition (offline)."""
    builder = ModelRegistrationStepBuilder(
        config, sagemaker_session=sagemaker_session, role=role, bucket=bucket
    )
    name = name or f"mimsreg-{builder.spec.model_package_group_name}"
    if not PIPELINE_NAME_PATTERN.fullmatch(name):
        raise BadInputError(
            f"name: {name!r} is not a valid pipeline name (letters, digits and single hyphens, "
            "at most 256 characters)"
        )
    parameters = [builder.string_parameter(MODEL_PARAMETER, packaged_model)]
    payload_parameter = None
    if payload is not None:
        payload_parameter = builder.string_parameter(PAYLOAD_PARAMETER, payload)
        parameters.append(payload_parameter)
    steps = builder.create_steps(parameters[0], regions=regions, payload=payload_parameter)
    pipeline = builder.pipeline(name, steps, parameters)
    return RenderedPipeline(builder, pipeline, str(pipeline.definition()))
