"""The processing-job entry of the pipeline step: register one packaged model, print the results.

Portable (Python 3.9, standard library and boto3): it runs in a stock SageMaker scikit-learn
processing image from the code bundle the pipeline step ships (see ``mimsreg.pipeline.bundle``),
so it never imports pydantic, click, yaml or ``mimsreg.config``: the validated configuration
arrives as a :class:`~.spec.RegistrationSpec` JSON document, checked against the digest the
pipeline definition holds.

It finds the single model archive under ``--model-dir`` and the optional payload under
``--payload-dir`` (checked against the input variables; generated when there is none, as
``mimsreg register`` does), inspects the archive, plans the registration for each ``--region``
and runs the plan against SageMaker Model Registry (boto3 clients per region;
``AWS_ENDPOINT_URL`` is honoured by boto3, which is how tests point it at moto). One JSON line per
region goes to stdout and ``results.json`` to ``--output-dir``.

Exit codes: 0 every region created or unchanged; 1 a region failed; 2 bad input (a spec that does
not match its digest, no model archive or several, a broken archive, a payload that does not match
the input variables), nothing registered.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import socket
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mimsreg.engine.errors import (
    EXIT_FAILED,
    EXIT_OK,
    BadInputError,
    InvalidPackageError,
    MimsregError,
    PayloadError,
    exit_code,
)

if TYPE_CHECKING:
    from mimsreg.engine.execute import RegistrationResult
    from mimsreg.engine.inventory.base import Inventory
    from mimsreg.engine.plan import ImageResolver, RegistrationContext
    from mimsreg.engine.spec import RegistrationSpec

__all__ = [
    "EXECUTION_ARN_ENV",
    "EXECUTION_ID_ENV",
    "MODEL_DIR",
    "OUTPUT_DIR",
    "PAYLOAD_DIR",
    "RESULTS_FILE",
    "SPEC_DIR",
    "find_model",
    "find_payload",
    "load_spec",
    "main",
]

# Where the pipeline step's processing job receives its inputs and leaves its output.
MODEL_DIR = "/opt/ml/processing/input/model"
PAYLOAD_DIR = "/opt/ml/processing/mims_payload"
SPEC_DIR = "/opt/ml/processing/input/mimsreg_spec"
SPEC_FILE_NAME = "spec.json"
OUTPUT_DIR = "/opt/ml/processing/output/results"
RESULTS_FILE = "results.json"
EXECUTION_ID_ENV = "MIMSREG_PIPELINE_EXECUTION_ID"
EXECUTION_ARN_ENV = "MIMSREG_PIPELINE_EXECUTION_ARN"

_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mimsreg-runtime",
        description="Register the packaged model of a SageMaker processing job (mimsreg).",
    )
    parser.add_argument(
        "--spec", required=True, help="RegistrationSpec JSON written by the pipeline builder."
    )
    parser.add_argument(
        "--spec-sha256", default=None, help="Expected SHA-256 of the spec file (hex)."
    )
    parser.add_argument(
        "--region",
        action="append",
        required=True,
        help="Target region (repeatable); AWS names or NA/EU/FE.",
    )
    parser.add_argument("--model-dir", default=MODEL_DIR, help="Folder holding one model archive.")
    parser.add_argument(
        "--payload-dir", default=None, help="Folder holding one payload archive (optional)."
    )
    parser.add_argument("--output-dir", default=None, help="Folder for results.json (optional).")
    parser.add_argument(
        "--bundle-sha256",
        default=None,
        help="Expected SHA-256 of the runtime bundle this job runs from (hex).",
    )
    return parser


# The oldest boto3/botocore the job is tested on: what the default processing image (scikit-learn
# 1.2-1) pins. Older ones may lack calls or members mimsreg cannot send another way.
MIN_BOTO3 = "1.28.57"
MIN_BOTOCORE = "1.31.57"


def _release(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def environment_report() -> tuple[str, str | None]:
    """One line naming the job's Python, boto3 and botocore, and a warning when they are older
    than the oldest tested (the job still runs: features are detected, not assumed)."""
    import boto3
    import botocore

    from mimsreg.engine._version import __version__

    python = ".".join(str(part) for part in sys.version_info[:3])
    line = (
        f"mimsreg-runtime {__version__}: Python {python}, boto3 {boto3.__version__}, "
        f"botocore {botocore.__version__} (needs boto3 >= {MIN_BOTO3})"
    )
    warning = None
    if _release(botocore.__version__) < _release(MIN_BOTOCORE):
        warning = (
            f"botocore {botocore.__version__} is older than {MIN_BOTOCORE}, the oldest mimsreg "
            "is tested with; choose a processing image with a newer boto3 (processing_image_uri)"
        )
    return line, warning


def check_botocore() -> None:
    """Refuse, before anything is written, a botocore whose service models lack members that the
    registration cannot send another way (see ``mimsreg.engine.aws_compat``)."""
    from mimsreg.engine.aws_compat import unsupported_members

    lacking = unsupported_members()
    if lacking:
        import botocore

        raise BadInputError(
            f"this image's botocore {botocore.__version__} lacks {', '.join(lacking)}, which "
            f"mimsreg needs: run the step on an image with boto3 >= {MIN_BOTO3} (the default "
            "scikit-learn 1.2-1 processing image, or processing_image_uri=...)"
        )


def bundle_path() -> Path | None:
    """The runtime bundle (zip) this module was imported from; None when not run from one."""
    for parent in Path(__file__).parents:
        if parent.is_file():
            return parent
    return None


def check_bundle(expected_sha256: str) -> None:
    """Refuse to run from a bundle whose bytes are not the ones the pipeline was rendered with."""
    path = bundle_path()
    if path is None:
        raise BadInputError(
            "--bundle-sha256: this job does not run from a runtime bundle (mimsreg-runtime.pyz)"
        )
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    actual = digest.hexdigest()
    if actual != expected_sha256.lower():
        raise BadInputError(
            f"runtime bundle {str(path)!r} has sha256 {actual!r}, the pipeline expects "
            f"{expected_sha256!r}: upload the builder's files again (upload_runtime, or "
            "mimsreg pipeline --upload)"
        )


def load_spec(path: Path, expected_sha256: str | None = None) -> RegistrationSpec:
    """Read the spec document; a digest that differs from the pipeline's is bad input."""
    from mimsreg.engine.spec import RegistrationSpec, name_problems

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"cannot read the registration spec {str(path)!r}: {exc}") from exc
    actual = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and actual != expected_sha256.lower():
        raise BadInputError(
            f"registration spec {str(path)!r} has sha256 {actual!r}, the pipeline expects "
            f"{expected_sha256!r}: upload the builder's files again (upload_runtime)"
        )
    try:
        spec = RegistrationSpec.from_dict(json.loads(data.decode("utf-8")))
    except (ValueError, TypeError) as exc:
        raise BadInputError(f"registration spec {str(path)!r} is not valid: {exc}") from exc
    problems = name_problems(spec)
    if problems:
        raise BadInputError(f"registration spec {str(path)!r} is not valid: {'; '.join(problems)}")
    return spec


def _archives(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        if path.is_file() and not hidden and path.name.endswith(_ARCHIVE_SUFFIXES):
            found.append(path)
    return found


def find_model(folder: Path) -> Path:
    """The one model archive (``.tar.gz``, ``.tgz``, ``.tar``) under ``folder``, recursively."""
    if not folder.is_dir():
        raise InvalidPackageError(f"model: folder {str(folder)!r} does not exist")
    archives = _archives(folder)
    if len(archives) != 1:
        names = [str(path.relative_to(folder)) for path in archives]
        raise InvalidPackageError(
            f"model: expected exactly one archive (.tar.gz, .tgz, .tar) under {str(folder)!r}, "
            f"found {names!r}"
        )
    return archives[0]


def find_payload(folder: Path) -> Path | None:
    """What the payload folder holds: its one archive, else the folder when it holds sample files
    (``.csv``/``.json``, packed like ``mimsreg register --payload``), else None (generated)."""
    if not folder.is_dir():
        return None
    archives = _archives(folder)
    if len(archives) > 1:
        names = [str(path.relative_to(folder)) for path in archives]
        raise PayloadError(
            f"payload: expected at most one archive under {str(folder)!r}, found {names!r}"
        )
    if archives:
        return archives[0]
    visible = [path for path in folder.iterdir() if not path.name.startswith(".")]
    return folder if visible else None


def _context() -> RegistrationContext:
    from mimsreg.engine.plan import RegistrationContext

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # processing containers may have no passwd entry
        user = "unknown"
    return RegistrationContext(
        user=user,
        host=socket.gethostname() or "unknown",
        pipeline_execution_id=os.environ.get(EXECUTION_ID_ENV) or None,
        pipeline_execution_arn=os.environ.get(EXECUTION_ARN_ENV) or None,
    )


def _default_inventory(regions: Sequence[str]) -> Inventory:
    # The backend module directly: open_inventory() also imports the SQLite backend.
    from mimsreg.engine.inventory.sagemaker import SageMakerInventory

    return SageMakerInventory(regions=list(regions))


def register(
    args: argparse.Namespace,
    inventory: Inventory | None = None,
    image_resolver: ImageResolver | None = None,
) -> list[RegistrationResult]:
    """Inspect, plan and register; raises :class:`BadInputError` before anything is written."""
    from mimsreg.engine.register import register as register_flow

    spec = load_spec(Path(args.spec), args.spec_sha256)
    model = find_model(Path(args.model_dir))
    payload = find_payload(Path(args.payload_dir)) if args.payload_dir is not None else None

    def open_backend(regions: Sequence[str]) -> AbstractContextManager[Inventory]:
        return nullcontext(inventory) if inventory is not None else _default_inventory(regions)

    # As `mimsreg register`: a custom payload is checked against the input variables (one
    # that does not match would fail load tests later); without one, samples are generated.
    return register_flow(
        spec,
        model,
        args.region,
        open_backend,
        payload=payload,
        context=_context(),
        image_resolver=image_resolver,
    ).results


def _write_results(folder: Path, results: Sequence[RegistrationResult]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "ok": all(result.ok for result in results),
        "pipeline_execution_id": os.environ.get(EXECUTION_ID_ENV) or None,
        "results": [result.to_dict() for result in results],
    }
    temporary = folder / (RESULTS_FILE + ".tmp")
    temporary.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    temporary.replace(folder / RESULTS_FILE)


def main(
    argv: Sequence[str] | None = None,
    *,
    inventory: Inventory | None = None,
    image_resolver: ImageResolver | None = None,
) -> int:
    """Run the job; returns the exit code. ``inventory`` and ``image_resolver`` serve tests."""
    args = _parser().parse_args(argv)
    line, warning = environment_report()
    print(line, file=sys.stderr, flush=True)
    if warning is not None:
        print(f"warning: {warning}", file=sys.stderr, flush=True)
    try:
        if args.bundle_sha256 is not None:
            check_bundle(args.bundle_sha256)
        check_botocore()
        results = register(args, inventory, image_resolver)
    except MimsregError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exit_code(exc)
    for result in results:
        print(json.dumps(result.to_dict(), sort_keys=True), flush=True)
        if result.error:
            print(f"error: {result.region}: {result.error}", file=sys.stderr)
    if args.output_dir is not None:
        _write_results(Path(args.output_dir), results)
    return EXIT_OK if all(result.ok for result in results) else EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover - the bundle's __main__ calls main()
    sys.exit(main())
