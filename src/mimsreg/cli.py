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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mimsreg")
