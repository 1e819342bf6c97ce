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
    from mimsreg.check import CheckReport
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


@cli.command()
@config_argument
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the archive (a file, or a folder for payload.tar.gz). "
    "Default: payload.tar.gz.",
)
@click.option(
    "--rows",
    type=click.IntRange(1, 10_000),
    default=None,
    help="Records per file (default 1).",
)
@click.option(
    "--all-content-types",
    is_flag=True,
    help="A file for text/csv and application/json, not only the configured content type.",
)
@click.option(
    "--strings", is_flag=True, help="Write JSON values as strings, as the original step did."
)
@click.option(
    "--validate",
    "validate_path",
    metavar="FILE",
    default=None,
    help="Check a custom payload (.csv, .json, payload.tar.gz or a folder) instead.",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was written or read as JSON.")
@handles_errors
def payload(
    config_path: Path,
    output: Path | None,
    rows: int | None,
    all_content_types: bool,
    strings: bool,
    validate_path: str | None,
    as_json: bool,
) -> None:
    """Write the sample payload archive of a configuration, or check a custom payload.

    The archive is the original's flat payload.tar.gz: payload_text_csv_0.csv (headerless, values
    in input order) and/or payload_application_json_0.json (name → value). Values come from
    payload_sample_values in the configuration, else 0.0 (NUMERIC) and DEFAULT_TEXT (TEXT). With
    --validate FILE, exit 0 when the payload matches the input variables, else 2 with the reasons.
    """
    from mimsreg.payload import SUPPORTED_CONTENT_TYPES, generate_payload_archive, load_payload

    if validate_path is not None:
        if output is not None or rows is not None or all_content_types or strings:
            raise click.UsageError("--validate takes no -o, --rows, --all-content-types, --strings")
        spec = load_config(config_path).to_spec()
        samples = load_payload(validate_path, spec)
        if as_json:
            echo_json(
                {
                    "payload": validate_path,
                    "valid": True,
                    "samples": [sample.to_dict() for sample in samples],
                }
            )
            return
        click.echo(f"{validate_path}: valid, {len(samples)} sample(s)")
        for sample in samples:
            click.echo(f"  {sample.name}  {sample.content_type}  {len(sample.records)} record(s)")
        return
    spec = load_config(config_path).to_spec()
    archive = generate_payload_archive(
        spec,
        output or Path("payload.tar.gz"),
        rows or 1,
        content_types=SUPPORTED_CONTENT_TYPES if all_content_types else None,
        all_strings=strings,
    )
    if as_json:
        echo_json(archive.to_dict())
        return
    click.echo(f"wrote {archive.path} ({archive.size} bytes, sha256 {archive.sha256})")
    for sample in archive.samples:
        click.echo(
            f"  {sample.name}  {sample.content_type}  {len(sample.records)} record(s), "
            f"{len(sample.body)} bytes"
        )


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The registration configuration declaring the variables and content types.",
)
@click.option(
    "--payload",
    "payload_path",
    metavar="FILE",
    default=None,
    help="A custom payload (.csv, .json, payload.tar.gz or a folder). "
    "Default: one sample generated from the configuration.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds the model may take in all; it is killed after that.",
)
@click.option(
    "--install-requirements",
    is_flag=True,
    help="pip-install code/requirements.txt into a temporary folder first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@handles_errors
def check(
    model: Path,
    config_path: Path,
    payload_path: str | None,
    timeout: float,
    install_requirements: bool,
    as_json: bool,
) -> None:
    """Run a packaged model's inference handlers on sample payloads and check its responses.

    MODEL is a model.tar.gz (or an extracted model folder). Its code/<inference_entry_point> runs in
    a separate Python process, as the serving container calls it; every response must have a
    declared content type and hold every declared output variable with its type. Exit 0 when every
    sample passes, 1 when one fails, 2 for a bad configuration, archive or payload.
    """
    from mimsreg.check import check_model

    config = load_config(config_path)
    report = check_model(
        model, config, payload_path, timeout=timeout, install_requirements=install_requirements
    )
    if as_json:
        echo_json(report.to_dict())
    else:
        _print_report(report)
    if not report.passed:
        sys.exit(EXIT_FAILED)


def _print_report(report: CheckReport) -> None:
    click.echo(f"checking {report.model} ({report.entry_point})")
    for sample in report.samples:
        verdict = "PASS" if sample.passed else "FAIL"
        click.echo(
            f"{verdict}  {sample.name}  {sample.content_type} → {sample.accept}, "
            f"{sample.records} record(s)"
        )
        for reason in sample.reasons:
            click.echo(f"      {reason}")
    for note in report.notes:
        click.echo(f"note: {note}")
    if report.error and report.log_tail:
        click.echo("output of the model process (last lines):", err=True)
        for line in report.log_tail:
            click.echo(f"  {line}", err=True)
    failed = sum(1 for sample in report.samples if not sample.passed)
    if report.passed:
        click.echo(f"passed: {len(report.samples)} sample(s) in {report.duration_seconds:.1f} s")
    else:
        click.echo(f"failed: {failed} of {len(report.samples)} sample(s)")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mimsreg")
