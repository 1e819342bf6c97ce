"""The ``mimsreg`` command line: a thin shell over the library.

Exit codes: 0 success; 1 a registration or check failed; 2 bad input (configuration, archive,
payload, arguments), with every problem printed as one line and no traceback.
"""

from __future__ import annotations

import functools
import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from mimsreg._version import __version__
from mimsreg.errors import BadInputError, ConfigError, MimsregError

if TYPE_CHECKING:
    from mimsreg.config import ModelRegistrationConfig
    from mimsreg.package import PackageManifest

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

F = TypeVar("F", bound=Callable[..., Any])


def _print_error(error: MimsregError) -> None:
    if isinstance(error, ConfigError):
        where = f" ({error.source})" if error.source else ""
        click.echo(f"error: invalid configuration{where}", err=True)
        for field_error in error.errors:
            click.echo(f"{field_error.field}: {field_error.message}", err=True)
    else:
        click.echo(f"error: {error}", err=True)


def handles_errors(command: F) -> F:
    """Turn mimsreg's exceptions into a message on stderr and the documented exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except BadInputError as exc:
            _print_error(exc)
            sys.exit(EXIT_BAD_INPUT)
        except MimsregError as exc:
            _print_error(exc)
            sys.exit(EXIT_FAILED)

    return cast(F, wrapper)


def load_config(path: Path) -> ModelRegistrationConfig:
    """Load a configuration file, printing its placeholder warnings once on stderr."""
    from mimsreg.config import ModelRegistrationConfig, PlaceholderWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PlaceholderWarning)
        config = ModelRegistrationConfig.from_file(path)
    for warning in caught:
        click.echo(f"warning: {warning.message}", err=True)
    return config


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


config_argument = click.argument(
    "config_path",
    metavar="CONFIG",
    type=click.Path(dir_okay=False, path_type=Path),
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="mimsreg")
def cli() -> None:
    """Register packaged ML models with a model inventory (MIMS).

    The default inventory is an embedded SQLite database under $MIMSREG_HOME (~/.mimsreg);
    SageMaker Model Registry is selected with --inventory sagemaker.
    """


@cli.command()
@config_argument
@click.option("--json", "as_json", is_flag=True, help="Print the validated configuration as JSON.")
@handles_errors
def validate(config_path: Path, as_json: bool) -> None:
    """Validate a configuration file; print every error as 'field: message' (exit 2)."""
    config = load_config(config_path)
    if as_json:
        data = config.model_dump(mode="json")
        data["resolved"] = {
            "framework_version": config.resolved_framework_version,
            "model_package_group_name": config.resolved_group_name,
            "load_test_instance_types": config.resolved_load_test_instance_types,
        }
        data["warnings"] = config.placeholder_warnings()
        echo_json(data)
        return
    inputs = len(config.source_model_inference_input_variable_list)
    outputs = len(config.source_model_inference_output_variable_list)
    click.echo(f"{config_path}: valid")
    click.echo(f"  group      {config.resolved_group_name}")
    click.echo(f"  owner      {config.model_owner}")
    click.echo(
        f"  framework  {config.framework.value} {config.resolved_framework_version} "
        f"on {config.inference_instance_type}"
    )
    click.echo(
        f"  variables  {inputs} input(s), {outputs} output(s); "
        f"{config.source_model_inference_content_types[0]} → "
        f"{config.source_model_inference_response_types[0]}"
    )
    click.echo(f"  region     {config.region}")


@cli.command()
@config_argument
@handles_errors
def schema(config_path: Path) -> None:
    """Print the variable schema (the seed's JSON shape) of a configuration."""
    echo_json(load_config(config_path).get_variable_schema())


@cli.command("config-schema")
def config_schema() -> None:
    """Print the JSON Schema of configuration files, for editors and CI linters."""
    from mimsreg.config import ModelRegistrationConfig

    echo_json(ModelRegistrationConfig.json_schema())


# Below this size a progress bar would only flicker.
PROGRESS_MIN_BYTES = 64 * 1024**2


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _print_manifest(manifest: PackageManifest) -> None:
    counts: dict[str, int] = {}
    for member in manifest.members:
        counts[member.type] = counts.get(member.type, 0) + 1
    kinds = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in sorted(counts.items()))
    compression = manifest.compression
    if manifest.compression == "gzip" and manifest.size:
        compression += f" (ratio {manifest.uncompressed_size / manifest.size:.2f})"
    sizes = {m.name: m.size for m in manifest.members}
    click.echo(f"{manifest.path}: valid model package")
    click.echo(f"  size          {_human_size(manifest.size)} ({manifest.size:,} bytes)")
    click.echo(f"  sha256        {manifest.sha256}")
    click.echo(f"  compression   {compression}")
    click.echo(f"  members       {len(manifest.members)} ({kinds})")
    click.echo(f"  uncompressed  {_human_size(manifest.uncompressed_size)}")
    click.echo(f"  entry point   {manifest.entry_point or '(none: no code/inference.py)'}")
    shown = manifest.model_files[:20]
    label = "model files"
    if not shown:
        click.echo(f"  {label}   (none)")
    for name in shown:
        click.echo(f"  {label:<13} {name} ({_human_size(sizes.get(name, 0))})")
        label = ""
    if len(manifest.model_files) > len(shown):
        click.echo(f"  {'':<13} ... and {len(manifest.model_files) - len(shown)} more")


@cli.command("inspect")
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration file whose inference_entry_point must be in the archive's code/.",
)
@click.option(
    "--entry-point",
    metavar="NAME",
    help="Inference script that must be in the archive's code/ (overrides --config).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@handles_errors
def inspect_command(
    model_path: Path, config_path: Path | None, entry_point: str | None, as_json: bool
) -> None:
    """Inspect a packaged model (model.tar.gz, a .tar, or a directory holding one).

    One streaming pass, nothing extracted: SHA-256 of the file, members, uncompressed size, entry
    point and model files. A broken or hostile archive (absolute or '..' paths, links leaving the
    archive, device files, duplicates, truncation, gzip bombs) is refused with the reason (exit 2).
    """
    from mimsreg.package import inspect_package

    config = load_config(config_path) if config_path is not None else None
    try:
        size = model_path.stat().st_size if model_path.is_file() else 0
    except OSError:
        size = 0
    if _stderr_is_terminal() and size > PROGRESS_MIN_BYTES:
        with click.progressbar(
            length=size, label="inspecting", file=sys.stderr, show_pos=False
        ) as bar:
            done = [0]

            def advance(consumed: int) -> None:
                bar.update(consumed - done[0])
                done[0] = consumed

            manifest = inspect_package(
                model_path, config, entry_point=entry_point, progress=advance
            )
    else:
        manifest = inspect_package(model_path, config, entry_point=entry_point)
    if as_json:
        echo_json(manifest.to_dict())
    else:
        _print_manifest(manifest)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mimsreg")
