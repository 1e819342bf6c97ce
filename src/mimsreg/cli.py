"""The ``mimsreg`` command line: a thin shell over the library.

Exit codes: 0 success; 1 a registration or check failed; 2 bad input (configuration, archive,
payload, arguments), with every problem printed as one line and no traceback.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from mimsreg.engine._version import __version__
from mimsreg.errors import (
    EXIT_FAILED,
    BadInputError,
    ConfigError,
    IsolationWarning,
    MimsregError,
    RegistryWarning,
    exit_code,
)
from mimsreg.output import OUTPUT_FORMATS, echo_rows, emit, human_time, table_lines
from mimsreg.regions import default_regions, parse_regions, region_choices

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from click.shell_completion import CompletionItem

    from mimsreg.engine.execute import RegistrationResult
    from mimsreg.engine.inventory import Inventory
    from mimsreg.engine.inventory.base import Progress, Tombstone, VersionRecord
    from mimsreg.engine.inventory.lifecycle import Decision

if TYPE_CHECKING:
    from mimsreg.check import CheckReport
    from mimsreg.config import ModelRegistrationConfig
    from mimsreg.engine.package import PackageManifest
    from mimsreg.engine.plan import RegionPlan

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
        except MimsregError as exc:
            _print_error(exc)
            sys.exit(exit_code(exc))

    return cast(F, wrapper)


def load_config(path: Path, *, strict: bool = False) -> ModelRegistrationConfig:
    """Load a configuration file, printing its warnings (placeholders, the original framework's
    ignored fields) once each on stderr."""
    return config_and_warnings(path, strict=strict)[0]


def config_and_warnings(
    path: Path, *, strict: bool = False
) -> tuple[ModelRegistrationConfig, list[str]]:
    """A configuration file loaded, and the warnings it gave, each printed once on stderr."""
    from mimsreg.config import ModelRegistrationConfig, OriginFieldsWarning, PlaceholderWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PlaceholderWarning)
        warnings.simplefilter("always", OriginFieldsWarning)
        config = ModelRegistrationConfig.from_file(path, strict=strict)
    messages = list(dict.fromkeys(str(warning.message) for warning in caught))
    for message in messages:
        click.echo(f"warning: {message}", err=True)
    return config, messages


# Progress bars only where a person watches, and past a size where a bar would not just flicker.
PROGRESS_MIN_BYTES = 64 * 1024**2
# The exit code of a command interrupted by Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@contextlib.contextmanager
def byte_progress(label: str, total: int, *, cumulative: bool = False) -> Iterator[Progress | None]:
    """A progress callback drawing a bar on stderr (mimsreg.progress), or None when stderr is
    no terminal.

    The callback takes byte counts: increments, or (``cumulative``) the running total, as
    ``inspect_package`` reports it.
    """
    if total <= PROGRESS_MIN_BYTES or not _stderr_is_terminal():
        yield None
        return
    from rich.console import Console

    from mimsreg.progress import byte_progress as rich_progress

    console = Console(stderr=True)
    with rich_progress(label, total, cumulative=cumulative, console=console, min_bytes=-1) as bar:
        yield bar


def echo_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Rows as aligned columns with a header line, for people (timestamps in local time)."""
    for line in table_lines(rows, columns):
        click.echo(line)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def _usage_hint(error: click.ClickException) -> str | None:
    context = getattr(error, "ctx", None)
    if context is None:
        return None
    usage = context.get_usage().removeprefix("Usage: ")
    return f"usage: {usage}  ({context.command_path} --help for more)"


class MimsregGroup(click.Group):
    """The command group: click's own errors (a bad option, a missing argument) in mimsreg's
    one style, ``error: ...`` on stderr with exit 2; Ctrl-C outside a command's own handling
    exits 130 with one line instead of click's ``Aborted!``."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # `mimsreg` alone: the help
            click.echo(exc.format_message(), err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            hint = _usage_hint(exc) if isinstance(exc, click.UsageError) else None
            if hint:
                click.echo(hint, err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)


def _output_format(output_format: str | None, as_json: bool) -> str:
    """The format asked for: --json is a shorthand for --output json."""
    if as_json and output_format not in (None, "json"):
        raise BadInputError(f"--json and --output {output_format}: give one of them")
    return "json" if as_json else (output_format or "table").lower()


def output_options(command: F) -> F:
    """``--output table|json|yaml`` and ``--json``, its shorthand, on a command printing records."""
    command = click.option(
        "--json", "as_json", is_flag=True, help="Print JSON (the same as --output json)."
    )(command)
    return click.option(
        "--output",
        "output_format",
        type=click.Choice(OUTPUT_FORMATS, case_sensitive=False),
        default=None,
        help="table (default; local times), json or yaml (ISO-8601 UTC times).",
    )(command)


def _complete_regions(
    context: click.Context, parameter: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    return [CompletionItem(choice) for choice in region_choices(incomplete)]


def region_option(help_text: str) -> Callable[[F], F]:
    """``--region``, the same on every command: repeatable, comma-separated, names or codes."""
    return click.option(
        "--region",
        "region_values",
        multiple=True,
        metavar="REGION",
        shell_complete=_complete_regions,
        help=f"{help_text} Repeatable or comma-separated; AWS names or NA/EU/FE.",
    )


config_argument = click.argument(
    "config_path",
    metavar="CONFIG",
    type=click.Path(dir_okay=False, path_type=Path),
)


@click.group(
    cls=MimsregGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", "-V", prog_name="mimsreg")
def cli() -> None:
    """Register packaged ML models with a model inventory (MIMS).

    The default inventory is an embedded SQLite database under $MIMSREG_HOME (~/.mimsreg);
    SageMaker Model Registry is selected with --inventory sagemaker.
    """


@cli.command()
@config_argument
@click.option("--json", "as_json", is_flag=True, help="Print the validated configuration as JSON.")
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse the original pipeline framework's fields (author, pipeline_name, ...) instead "
    "of ignoring them with a warning.",
)
@handles_errors
def validate(config_path: Path, as_json: bool, strict: bool) -> None:
    """Validate a configuration file; print every error as 'field: message' (exit 2).

    Also reads a pipeline configuration the original framework saved (its registration step).
    """
    config, messages = config_and_warnings(config_path, strict=strict)
    if as_json:
        data = config.model_dump(mode="json")
        data["resolved"] = {
            "framework_version": config.resolved_framework_version,
            "model_package_group_name": config.resolved_group_name,
            "load_test_instance_types": config.resolved_load_test_instance_types,
        }
        data["warnings"] = messages
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


@cli.command("pipeline")
@config_argument
@click.option(
    "--packaged-model",
    required=True,
    metavar="S3URI",
    help="Where the packaged model is (an s3:// folder holding one model.tar.gz): the default "
    "of the pipeline's PackagedModelUri parameter.",
)
@region_option("Target region, one step each; default: the config's.")
@click.option("--role", default=None, metavar="ARN", help="IAM role ARN of the registration job.")
@click.option(
    "--bucket",
    default=None,
    metavar="BUCKET",
    help="S3 bucket (a name, or a name with {region}); default: the config's, then the SDK's.",
)
@click.option(
    "--payload", default=None, metavar="S3URI", help="Sample payload archive location (optional)."
)
@click.option("--name", default=None, help="Pipeline name (default: mimsreg-<group>).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the definition to this file instead of stdout.",
)
@click.option(
    "--upload",
    is_flag=True,
    help="Also put the runtime bundle and the spec document in S3 (skipped when present).",
)
@handles_errors
def pipeline_command(
    config_path: Path,
    packaged_model: str,
    region_values: tuple[str, ...],
    role: str | None,
    bucket: str | None,
    payload: str | None,
    name: str | None,
    output: Path | None,
    upload: bool,
) -> None:
    """Render a SageMaker Pipeline definition holding the registration steps, offline.

    Needs the pipelines extra (pip install 'mimsreg[pipelines]'). Rendering uses no credentials
    and no network; --upload is the one step that writes to S3, and must happen before the
    pipeline runs.
    """
    from mimsreg.pipeline.render import load_sdk_quietly, render_pipeline

    load_sdk_quietly()
    config = load_config(config_path)
    rendered = render_pipeline(
        config,
        packaged_model,
        regions=_regions(region_values) or None,
        role=role,
        bucket=bucket,
        payload=payload,
        name=name,
    )
    if upload:
        for item in rendered.builder.upload_runtime():
            click.echo(f"{item.status}: {item.uri} ({item.size} bytes)", err=True)
    text = rendered.definition + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    temporary = output.with_name(output.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(output)
    click.echo(f"wrote {output}", err=True)


inventory_option = click.option(
    "--inventory",
    "inventory_uri",
    default="local",
    show_default=True,
    envvar="MIMSREG_INVENTORY",
    metavar="URI",
    help="Inventory: 'local', 'sqlite:///path/to/file.db' or 'sagemaker'; env MIMSREG_INVENTORY.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
isolation_option = click.option(
    "--isolation",
    type=click.Choice(["auto", "bwrap", "none"]),
    default="auto",
    show_default=True,
    help="How the model's code is contained: bwrap (a bubblewrap sandbox: no network, no home, "
    "no credentials, no inventory), none (a scrubbed environment and resource limits only), "
    "auto (bwrap when it works here, else none with a warning naming what is not contained).",
)


def _regions(values: Sequence[str]) -> list[str]:
    """--region may repeat and may hold comma-separated names or codes (mimsreg.regions)."""
    return parse_regions(values)


def _inventory_regions(inventory_uri: str, values: Sequence[str]) -> list[str] | None:
    """The regions a command reading an inventory looks in: --region, else for SageMaker the
    environment's default (MIMSREG_REGION, AWS_REGION, AWS_DEFAULT_REGION, the profile's);
    None: every region of a local inventory, or no region named anywhere."""
    named = parse_regions(values)
    if named:
        return named
    if inventory_uri == "sagemaker":
        return default_regions() or None
    return None


def _check_environment_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--env and --python: shared by `check` and `register --check`."""
    for option in reversed(
        [
            click.option(
                "--env",
                "env",
                type=click.Choice(["auto", "image", "current"]),
                default="auto",
                show_default=True,
                help="Where the model runs: 'image' (the serving image's Python, framework and "
                "toolkit, built once and cached), 'current' (this Python), 'auto' (image when "
                "its Python is installed).",
            ),
            click.option(
                "--python",
                "python",
                metavar="PATH",
                default=None,
                help="The interpreter: the base of the image environment, or the one the model "
                "runs on with --env current.",
            ),
        ]
    ):
        command = option(command)
    return command


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Registration configuration (YAML or JSON).",
)
@click.option(
    "--region",
    "region_values",
    multiple=True,
    metavar="REGION",
    help="Target region (repeatable, or comma-separated); default: the config's region. "
    "AWS names or NA/EU/FE.",
)
@inventory_option
@click.option(
    "--payload",
    "payload_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Custom sample payload (.csv, .json, payload.tar.gz or a folder), checked against the "
    "schema and stored with the version; default: generated from the input variables.",
)
@click.option(
    "--check",
    "run_model_check_flag",
    is_flag=True,
    help="First run the model's handlers on the payload (as `mimsreg check`); register nothing "
    "if they fail.",
)
@click.option(
    "--check-timeout",
    "--timeout",
    "check_timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Time limit of --check.",
)
@click.option(
    "--install-requirements",
    is_flag=True,
    help="With --check: pip-install code/requirements.txt first, as `check` does.",
)
@click.option(
    "--wheelhouse",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --install-requirements: install only from the wheels in this folder (no network).",
)
@_check_environment_options
@isolation_option
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the plan and ask the inventory (read only) whether each region would be "
    "created or is unchanged; write nothing.",
)
@output_options
@handles_errors
def register(
    model: Path,
    config_path: Path,
    region_values: tuple[str, ...],
    inventory_uri: str,
    payload_path: Path | None,
    run_model_check_flag: bool,
    check_timeout: float,
    install_requirements: bool,
    wheelhouse: Path | None,
    env: str,
    python: str | None,
    isolation: str,
    dry_run: bool,
    output_format: str | None,
    as_json: bool,
) -> None:
    """Register a packaged model (model.tar.gz, or a folder holding one) in the inventory.

    With --check the model's handlers run first on the payload, with the options of `mimsreg
    check` (--timeout, --install-requirements, --env, --python). Exit 0 when every region is
    created or unchanged, 1 when a region (or --check) failed, 2 for bad input (nothing written).
    """
    from mimsreg._inflate import host_inflater
    from mimsreg.api import run_check
    from mimsreg.engine.inventory import open_inventory
    from mimsreg.engine.inventory.base import release_of
    from mimsreg.engine.register import INSPECTING, register

    output = _output_format(output_format, as_json)
    spec = load_config(config_path).to_spec()
    if not run_model_check_flag and (install_requirements or wheelhouse or python or env != "auto"):
        raise BadInputError(
            "--install-requirements, --wheelhouse, --env and --python go with --check"
        )
    regions = _regions(region_values)
    # A dry run asks the inventory, but never creates a local database to do it.
    ask = dry_run and not _nothing_registered(inventory_uri)
    finished: list[RegistrationResult] = []

    def run_model_check(model_path: Path, payload_archive: Path) -> None:
        run_check(
            model_path,
            spec,
            payload_archive,
            check_timeout,
            isolation=isolation,
            install_requirements=install_requirements,
            env=env,
            python=python,
            wheelhouse=wheelhouse,
        )

    def progress(phase: str, total: int) -> contextlib.AbstractContextManager[Progress | None]:
        return byte_progress(phase, total, cumulative=phase == INSPECTING)

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RegistryWarning)
            warnings.simplefilter("always", IsolationWarning)
            registration = register(
                spec,
                model,
                regions,
                lambda targets: open_inventory(inventory_uri, regions=targets, read_only=dry_run),
                payload=payload_path,
                dry_run=dry_run,
                check=run_model_check if run_model_check_flag else None,
                progress=progress,
                ask_inventory=ask,
                on_result=finished.append,
                inflater=host_inflater(),
            )
    except KeyboardInterrupt:
        _echo_interrupted(finished, regions or [spec.region])
        sys.exit(EXIT_INTERRUPTED)
    _echo_warnings(caught)
    results = registration.results
    if dry_run:
        _echo_dry_run(registration.plan.to_dict(), results, output, asked=ask)
        return
    release = release_of(registration.plan.regions[0].identity)
    rows = [{**r.to_dict(), "release": release, "sha256": r.sha256[:12]} for r in results]
    emit(
        [{**result.to_dict(), "release": release} for result in results],
        output,
        lambda: echo_table(
            rows, ["region", "group", "version", "release", "status", "sha256", "id"]
        ),
    )
    for result in results:
        if result.error and output == "table":
            click.echo(f"error: {result.region}: {result.error}", err=True)
    _warn_number_drift(inventory_uri, registration.plan.regions[0], results)
    if not all(result.ok for result in results):
        sys.exit(EXIT_FAILED)


def _nothing_registered(inventory_uri: str) -> bool:
    """A local inventory whose database does not exist: nothing is registered there."""
    from mimsreg.engine.inventory.local import default_home

    if inventory_uri == "local":
        return not (default_home() / "inventory.db").exists()
    if inventory_uri.startswith("sqlite:///"):
        return not Path(inventory_uri[len("sqlite://") :]).exists()
    return False


def _echo_interrupted(finished: Sequence[RegistrationResult], regions: Sequence[str]) -> None:
    """After Ctrl-C: what each region had completed, so nobody re-checks by hand."""
    click.echo("error: interrupted; what completed:", err=True)
    done = {result.region: result for result in finished}
    for region in regions:
        result = done.get(region)
        if result is None:
            click.echo(f"  {region}: not finished (a re-run completes it)", err=True)
        elif result.version is not None:
            click.echo(f"  {region}: {result.status} {result.group}/{result.version}", err=True)
        else:
            click.echo(f"  {region}: {result.status}: {result.error}", err=True)


def _echo_dry_run(
    plan: dict[str, Any], results: Sequence[RegistrationResult], output: str, *, asked: bool
) -> None:
    """The plan, each region with what a run would do (``would-create`` or ``unchanged``)."""
    from mimsreg.engine.execute import PLANNED, WOULD_CREATE

    by_region = {result.region: result for result in results}
    for region in plan["regions"]:
        result = by_region[region["region"]]
        # Not asked: the local inventory does not exist, so every version would be created.
        region["status"] = WOULD_CREATE if result.status == PLANNED and not asked else result.status
        region["version"] = result.version
    emit(plan, output, lambda: _echo_plan(plan))


def _warn_number_drift(
    inventory_uri: str, plan: RegionPlan, results: Sequence[RegistrationResult]
) -> None:
    """Warn when the release just registered has another number in another region (there,
    GROUP/VERSION names a different model). A failed check warns; the registration stands."""
    from mimsreg.engine.inventory import open_inventory
    from mimsreg.engine.inventory.releases import number_drift

    if not any(result.ok and result.version is not None for result in results):
        return
    registered = [result.region for result in results if result.ok]
    try:
        with (
            open_inventory(inventory_uri) as inventory,
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always", RegistryWarning)
            regions = inventory.compared_regions(registered)
            message = number_drift(inventory.versions_of(plan.group, plan.identity, regions))
        _echo_warnings(caught)
    except MimsregError as exc:
        message = f"could not compare version numbers across regions: {exc}"
    if message is not None:
        click.echo(f"warning: {message}", err=True)


def _echo_warnings(caught: list[warnings.WarningMessage]) -> None:
    """What was left out of a request SageMaker would refuse and what the check did not
    contain, once each, as ``warning:`` lines; any other warning goes on as it came."""
    shown: set[str] = set()
    for warning in caught:
        if not issubclass(warning.category, (RegistryWarning, IsolationWarning)):
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
        elif str(warning.message) not in shown:
            shown.add(str(warning.message))
            click.echo(f"warning: {warning.message}", err=True)


def _echo_plan(plan: dict[str, Any]) -> None:
    artifact = plan["artifact"]
    click.echo(
        f"plan for {artifact['path']} (sha256 {artifact['sha256']}, {artifact['size']} bytes)"
    )
    for region in plan["regions"]:
        click.echo(f"  {region['region']}: group {region['group']}")
        click.echo(f"    identity   {region['identity']}")
        click.echo(f"    image      {region['image_uri']}")
        click.echo(f"    artifact   {region['artifact_key']}")
        if "status" in region:
            found = f" (version {region['version']})" if region.get("version") else ""
            click.echo(f"    status     {region['status']}{found}")
    click.echo("dry run: nothing was written")


@cli.command("list")
@inventory_option
@region_option("Only these regions (SageMaker default: MIMSREG_REGION, AWS_REGION, ...).")
@click.option("--group", default=None, metavar="GROUP", help="Only this model package group.")
@click.option(
    "--status",
    default=None,
    metavar="STATUS",
    help="Only this approval status: pending, approved, rejected (or the full names).",
)
@click.option("--owner", default=None, metavar="OWNER", help="Only this model owner (any case).")
@click.option("--domain", default=None, metavar="DOMAIN", help="Only this registration domain.")
@click.option(
    "--since",
    default=None,
    metavar="WHEN",
    help="Only versions registered since: a duration back (24h, 7d) or a date/time (ISO 8601).",
)
@output_options
@handles_errors
def list_command(
    inventory_uri: str,
    region_values: tuple[str, ...],
    group: str | None,
    status: str | None,
    owner: str | None,
    domain: str | None,
    since: str | None,
    output_format: str | None,
    as_json: bool,
) -> None:
    """List registered versions: group, version, region, release, approval status, sha256,
    created_at. The release id is the same in every region a registration went to. Several
    regions are read in parallel."""
    from mimsreg.engine.inventory import open_inventory
    from mimsreg.engine.inventory.lifecycle import VersionFilter, parse_since, parse_status

    output = _output_format(output_format, as_json)
    chosen = VersionFilter(
        status=parse_status(status) if status is not None else None,
        owner=owner,
        domain=domain,
        since=parse_since(since) if since is not None else None,
    )
    regions = _inventory_regions(inventory_uri, region_values)
    with open_inventory(inventory_uri, regions=regions, read_only=True) as inventory:
        # One call: the backend reads several regions in parallel, by the page.
        only = regions[0] if regions and len(regions) == 1 else None
        records = inventory.list_versions(region=only, group=group)
        if regions and len(regions) > 1:
            # Regions in the order given, each region's versions in the backend's order.
            order = {region: index for index, region in enumerate(regions)}
            records = sorted(
                (record for record in records if record.region in order),
                key=lambda record: order[record.region],
            )
        where = f"the {inventory.name} inventory"
    rows = [record.summary() for record in chosen.select(records)]
    scope = f" of group {group}" if group else ""
    scope += f" in {', '.join(regions)}" if regions else ""
    filtered = any(value is not None for value in (status, owner, domain, since))
    echo_rows(
        [{**row, "sha256": row["sha256"][:12]} for row in rows],
        ["group", "version", "region", "release", "approval_status", "sha256", "created_at"],
        output,
        empty=f"no versions{scope}{' matching the filters' if filtered else ''} in {where}",
        data=rows,
    )


def _region_or_none(region: str | None) -> str | None:
    from mimsreg.engine.spec import normalise_region
    from mimsreg.errors import BadInputError

    if region is None:
        return None
    try:
        return normalise_region(region)
    except ValueError as exc:
        raise BadInputError(f"--region: {exc}") from exc


def _listed(region: str | None) -> list[str] | None:
    normalised = _region_or_none(region)
    return [normalised] if normalised else None


def _one_region(
    inventory: Inventory, reference: str, regions: Sequence[str] | None
) -> tuple[str, str, int]:
    """Region, group and number of the one version ``reference`` (GROUP/VERSION, GROUP/latest,
    GROUP@RELEASE) names among ``regions`` (the inventory's own when None): the one region
    holding it, else an error naming them."""
    from mimsreg.engine.inventory.releases import locate, parse_reference, resolve
    from mimsreg.errors import NotFoundError

    parsed = parse_reference(reference)
    if not regions or len(regions) == 1:
        return locate(inventory, parsed, regions[0] if regions else None)
    if parsed.version is not None:
        holding = inventory.regions_of(parsed.group, parsed.version)
        found = [(region, parsed.group, parsed.version) for region in holding if region in regions]
        listed = ", ".join(region for region, _, _ in found)
    else:
        found = [
            (version.region, version.group, version.version)
            for region in regions
            for version in resolve(inventory, parsed, region)
        ]
        found.sort()
        listed = ", ".join(f"{region} {group}/{number}" for region, group, number in found)
    if not found:
        raise NotFoundError(
            f"{parsed.describe()} is not in the {inventory.name} inventory in {', '.join(regions)}"
        )
    if len(found) > 1:
        raise BadInputError(
            f"{parsed.describe()} exists in several regions ({listed}): choose one with --region"
        )
    return found[0]


def _locate(inventory: Inventory, reference: str, region: str | None) -> tuple[str, str, int]:
    """Region, group and version of a reference (GROUP/VERSION, GROUP/latest, GROUP@RELEASE);
    the region may be implied when unique."""
    from mimsreg.engine.inventory.releases import locate, parse_reference

    return locate(inventory, parse_reference(reference), _region_or_none(region))


@cli.command()
@click.argument("reference", metavar="GROUP/VERSION")
@region_option("Where to look (needed when the version is in several).")
@inventory_option
@output_options
@handles_errors
def show(
    reference: str,
    region_values: tuple[str, ...],
    inventory_uri: str,
    output_format: str | None,
    as_json: bool,
) -> None:
    """Show one version's whole record, including its variable schema and approval history."""
    from mimsreg.engine.inventory import open_inventory

    output = _output_format(output_format, as_json)
    regions = _inventory_regions(inventory_uri, region_values)
    with open_inventory(inventory_uri, regions=regions, read_only=True) as inventory:
        record = _get_or_tombstone(inventory, *_one_region(inventory, reference, regions))
    emit(record.to_dict(), output, lambda: _echo_record(record))


def _get_or_tombstone(inventory: Inventory, region: str, group: str, version: int) -> VersionRecord:
    """The version; when it was deleted, the NotFoundError says by whom and when."""
    from mimsreg.errors import NotFoundError

    try:
        return inventory.get_version(region, group, version)
    except NotFoundError as exc:
        tombstone = inventory.tombstone(region, group, version)
        if tombstone is None:
            raise
        note = f" ({tombstone.note})" if tombstone.note else ""
        raise NotFoundError(
            f"{group}/{version} in {region} was deleted at {tombstone.deleted_at} by "
            f"{tombstone.deleted_by}{note}"
        ) from exc


def _echo_record(record: VersionRecord) -> None:
    data = record.to_dict()
    click.echo(f"{record.group}/{record.version} in {record.region}  ({record.id})")
    for label, key in [
        ("release", "release"),
        ("approval", "approval_status"),
        ("owner", "model_owner"),
        ("domain", "model_registration_domain"),
        ("objective", "model_registration_objective"),
        ("description", "description"),
        ("framework", "framework"),
        ("framework version", "framework_version"),
        ("image", "image_uri"),
        ("instance", "inference_instance_type"),
        ("content types", "content_types"),
        ("response types", "response_types"),
        ("sha256", "sha256"),
        ("artifact", "artifact_uri"),
        ("payload", "payload_uri"),
        ("created", "created_at"),
    ]:
        value = human_time(data.get(key)) if key == "created_at" else data.get(key)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if value not in (None, ""):
            click.echo(f"  {label:<17} {value}")
    tags = data.get("tags") or {}
    if tags:
        click.echo(f"  {'tags':<17} " + ", ".join(f"{k}={v}" for k, v in sorted(tags.items())))
    origin = data.get("promoted_from")
    if isinstance(origin, dict):
        click.echo(f"  {'promoted from':<17} {origin.get('id')} ({origin.get('inventory')})")
    schema = data.get("variable_schema") or {}
    for side in ("input", "output"):
        variables = (schema.get(side) or {}).get("variables") or []
        listed = ", ".join(f"{v['name']} ({v['type']})" for v in variables) or "(none)"
        click.echo(f"  {side + 's':<17} {listed}")
    click.echo("  approval history")
    for event in record.approval_history:
        note = f"  {event.note}" if event.note else ""
        click.echo(f"    {human_time(event.at)}  {event.status:<21} by {event.actor}{note}")


@cli.command()
@click.argument("reference", metavar="GROUP/VERSION")
@click.option("--reject", is_flag=True, help="Reject instead of approve.")
@click.option("--pending", is_flag=True, help="Back to PendingManualApproval instead of approve.")
@region_option("Where to look (needed when the version is in several).")
@click.option(
    "--all-regions",
    is_flag=True,
    help="The same release in every region that holds it (found by identity, never by "
    "number), each version touched listed.",
)
@click.option("--note", default=None, metavar="TEXT", help="Why; kept in the approval history.")
@click.option("--actor", default=None, metavar="NAME", help="Who decides (default: OS user).")
@inventory_option
@output_options
@handles_errors
def approve(
    reference: str,
    reject: bool,
    pending: bool,
    region_values: tuple[str, ...],
    all_regions: bool,
    note: str | None,
    actor: str | None,
    inventory_uri: str,
    output_format: str | None,
    as_json: bool,
) -> None:
    """Approve (or --reject, or set --pending) a version; who, when and why are kept as history.

    A decision that changes nothing says "already <status>" and records nothing, unless --note
    is given. REFERENCE: GROUP/VERSION, GROUP/latest or GROUP@RELEASE.
    """
    from mimsreg.api import current_context
    from mimsreg.engine.inventory import open_inventory
    from mimsreg.engine.inventory.lifecycle import approve_release, decide
    from mimsreg.engine.spec import ApprovalStatus

    output = _output_format(output_format, as_json)
    if reject and pending:
        raise BadInputError("--reject and --pending: choose one")
    status = ApprovalStatus.APPROVED
    if reject or pending:
        status = ApprovalStatus.REJECTED if reject else ApprovalStatus.PENDING_MANUAL_APPROVAL
    who = actor or current_context().user
    regions = _inventory_regions(inventory_uri, region_values)
    with open_inventory(inventory_uri, regions=regions) as inventory:
        located = _one_region(inventory, reference, regions)
        if all_regions:
            anchor = inventory.get_version(*located)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", RegistryWarning)
                decisions = approve_release(inventory, anchor, status.value, who, note)
            _echo_warnings(caught)
        else:
            decisions = [decide(inventory, *located, status.value, who, note)]
    data = [decision.to_dict() for decision in decisions]
    emit(data if all_regions else data[0], output, lambda: _echo_decisions(decisions))


def _echo_decisions(decisions: Sequence[Decision]) -> None:
    for decision in decisions:
        record = decision.record
        where = f"{record.group}/{record.version} in {record.region}"
        if decision.changed:
            click.echo(f"{where}: {record.approval_status}")
        else:
            recorded = " (note recorded)" if decision.recorded else ""
            click.echo(f"{where}: already {record.approval_status}{recorded}")


reference_argument = click.argument("reference", metavar="GROUP/VERSION")


@cli.command()
@reference_argument
@click.argument("assignments", nargs=-1, metavar="KEY=VALUE...")
@click.option("--remove", "remove_keys", multiple=True, metavar="KEY", help="Remove this tag.")
@region_option("Where to look (needed when the version is in several).")
@inventory_option
@output_options
@handles_errors
def tag(
    reference: str,
    assignments: tuple[str, ...],
    remove_keys: tuple[str, ...],
    region_values: tuple[str, ...],
    inventory_uri: str,
    output_format: str | None,
    as_json: bool,
) -> None:
    """Set (KEY=VALUE) or --remove tags of a version; every other field stays.

    On SageMaker, which allows no tags on versions, they are kept as the version's metadata
    (mimsreg:tag:KEY) and in its record.
    """
    from mimsreg.api import current_context
    from mimsreg.engine.inventory import open_inventory
    from mimsreg.engine.inventory.lifecycle import check_tags, parse_tag_assignments

    output = _output_format(output_format, as_json)
    tags = parse_tag_assignments(assignments)
    check_tags(tags, remove_keys)
    regions = _inventory_regions(inventory_uri, region_values)
    with open_inventory(inventory_uri, regions=regions) as inventory:
        located = _one_region(inventory, reference, regions)
        record = inventory.update_version(
            *located, actor=current_context().user, tags=tags, remove_tags=remove_keys
        )
    emit(record.to_dict(), output, lambda: _echo_tags(record))


def _echo_tags(record: VersionRecord) -> None:
    current = record.record.get("tags") or {}
    listed = ", ".join(f"{k}={v}" for k, v in sorted(current.items())) or "(none)"
    click.echo(f"{record.group}/{record.version} in {record.region}: tags {listed}")


@cli.command()
@reference_argument
@click.argument("text", metavar="TEXT")
@region_option("Where to look (needed when the version is in several).")
@inventory_option
@output_options
@handles_errors
def describe(
    reference: str,
    text: str,
    region_values: tuple[str, ...],
    inventory_uri: str,
    output_format: str | None,
    as_json: bool,
) -> None:
    """Replace a version's description with TEXT (SageMaker: kept in its record, which `show`
    reads, since SageMaker's own description cannot change)."""
    from mimsreg.api import current_context
    from mimsreg.engine.inventory import open_inventory
    from mimsreg.engine.inventory.lifecycle import check_description

    output = _output_format(output_format, as_json)
    description = check_description(text)
    regions = _inventory_regions(inventory_uri, region_values)
    with open_inventory(inventory_uri, regions=regions) as inventory:
        located = _one_region(inventory, reference, regions)
        record = inventory.update_version(
            *located, actor=current_context().user, description=description
        )
    emit(
        record.to_dict(),
        output,
        lambda: click.echo(f"{record.group}/{record.version} in {record.region}: description set"),
    )


@cli.command()
@reference_argument
@region_option("Where to delete it, each region given; needed when it is in several.")
@click.option("--yes", is_flag=True, help="Delete without asking first.")
@click.option("--note", default=None, metavar="TEXT", help="Why; kept with the tombstone.")
@inventory_option
@output_options
@handles_errors
def delete(
    reference: str,
    region_values: tuple[str, ...],
    yes: bool,
    note: str | None,
    inventory_uri: str,
    output_format: str | None,
    as_json: bool,
) -> None:
    """Delete a version. The history keeps a tombstone (who, when, its approvals); its number
    is not given again; its artifact goes at the next `mimsreg gc` once no version uses it."""
    from mimsreg.api import current_context
    from mimsreg.engine.inventory import open_inventory

    output = _output_format(output_format, as_json)
    named = _regions(region_values)
    regions = _inventory_regions(inventory_uri, region_values)
    with open_inventory(inventory_uri, regions=regions) as inventory:
        if named:  # each region given
            located = [_one_region(inventory, reference, [region]) for region in named]
        else:  # the one region (of the defaults) holding it
            located = [_one_region(inventory, reference, regions)]
        targets = list(dict.fromkeys(located))
        _refuse_numbers_of_different_releases(inventory, reference, targets)
        listed = ", ".join(f"{group}/{number} in {region}" for region, group, number in targets)
        if not yes and not _confirmed(f"delete {listed}?"):
            click.echo("not confirmed: nothing was deleted", err=True)
            sys.exit(EXIT_FAILED)
        actor = current_context().user
        tombstones = [inventory.delete_version(*target, actor, note) for target in targets]
    rows = [tombstone.to_dict() for tombstone in tombstones]
    emit(rows, output, lambda: _echo_deleted(tombstones))


def _confirmed(question: str) -> bool:
    """The answer to a yes/no question on stderr; no answer (end of input) is no. Ctrl-C at the
    prompt still interrupts (exit 130)."""
    try:
        return click.confirm(question, default=False, err=True)
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            raise
        click.echo("", err=True)
        return False


def _echo_deleted(tombstones: Sequence[Tombstone]) -> None:
    for tombstone in tombstones:
        click.echo(
            f"deleted {tombstone.group}/{tombstone.version} in {tombstone.region} "
            f"(release {tombstone.release}); its history is kept"
        )
    click.echo("its artifact goes at the next `mimsreg gc` once no version uses it", err=True)


def _refuse_numbers_of_different_releases(
    inventory: Inventory, reference: str, targets: Sequence[tuple[str, str, int]]
) -> None:
    """One number in several regions may name different models: refused unless one release."""
    if len(targets) < 2:
        return
    records = [inventory.get_version(*target) for target in targets]
    if len({record.identity for record in records}) > 1:
        named = ", ".join(f"{r.region} {r.group}/{r.version} ({r.release})" for r in records)
        raise BadInputError(
            f"{reference} names different releases in the regions given ({named}): name one "
            "release with GROUP@RELEASE; nothing was deleted"
        )


@cli.command()
@click.argument("first", metavar="A")
@click.argument("second", metavar="B")
@region_option("Where to look (needed when a version is in several).")
@inventory_option
@output_options
@handles_errors
def diff(
    first: str,
    second: str,
    region_values: tuple[str, ...],
    inventory_uri: str,
    output_format: str | None,
    as_json: bool,
) -> None:
    """Compare two versions (each GROUP/VERSION, GROUP/latest or GROUP@RELEASE): metadata,
    variable schema, archive digest and approval status."""
    from mimsreg.engine.inventory import open_inventory
    from mimsreg.engine.inventory.lifecycle import diff_versions

    output = _output_format(output_format, as_json)
    regions = _inventory_regions(inventory_uri, region_values)
    with open_inventory(inventory_uri, regions=regions, read_only=True) as inventory:
        a = inventory.get_version(*_one_region(inventory, first, regions))
        b = inventory.get_version(*_one_region(inventory, second, regions))
    difference = diff_versions(a, b)
    emit(difference, output, lambda: _echo_diff(difference))


def _echo_diff(difference: dict[str, Any]) -> None:
    for side in ("a", "b"):
        v = difference[side]
        click.echo(f"{side}: {v['group']}/{v['version']} in {v['region']} (release {v['release']})")
    if difference["same"]:
        click.echo("no differences" + (" (the same release)" if difference["same_release"] else ""))
        return
    for name in ("digest", "approval"):
        entry = difference[name]
        shown = entry["a"] if entry["same"] else f"{entry['a']} -> {entry['b']}"
        click.echo(f"{name:<9} {'same ' if entry['same'] else ''}{shown}")
    for key, values in difference["metadata"].items():
        click.echo(f"metadata  {key}: {values['a']!r} -> {values['b']!r}")
    for side, changes in difference["schema"].items():
        parts = [f"+{v['name']} ({v['type']})" for v in changes["added"]]
        parts += [f"-{v['name']} ({v['type']})" for v in changes["removed"]]
        parts += [f"{v['name']} {v['a']} -> {v['b']}" for v in changes["changed"]]
        if changes.get("reordered"):
            parts.append("order changed")
        click.echo(f"schema    {side}s: {', '.join(parts)}")


@cli.command("gc")
@inventory_option
@region_option("SageMaker: regions to clean; default: MIMSREG_REGION, AWS_REGION, ...")
@click.option(
    "--bucket",
    default=None,
    metavar="NAME",
    help="SageMaker: the bucket, '{region}' filled in; default: the one the versions use.",
)
@click.option(
    "--older-than",
    default="24h",
    show_default=True,
    metavar="DURATION",
    help="Leave anything younger alone (30s, 15m, 24h, 7d): it may belong to a registration "
    "in flight.",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@output_options
@handles_errors
def gc_command(
    inventory_uri: str,
    region_values: tuple[str, ...],
    bucket: str | None,
    older_than: str,
    dry_run: bool,
    output_format: str | None,
    as_json: bool,
) -> None:
    """Remove what interrupted registrations left behind and no version uses.

    Local: temporary files and unreferenced artifacts of the artifact store. SageMaker: staged
    artifacts, payloads and record/schema/approval documents no version references, expired
    create locks and incomplete multipart uploads, under mimsreg/ in each region's bucket. Both:
    this user's mimsreg-payload-*/mimsreg-check-* folders in the system's temporary folder.
    """
    from mimsreg.api import collect_temporary_folders
    from mimsreg.engine.inventory import open_inventory
    from mimsreg.engine.inventory.gc import parse_duration

    output = _output_format(output_format, as_json)
    seconds = parse_duration(older_than)
    regions = _inventory_regions(inventory_uri, region_values)
    with open_inventory(inventory_uri, regions=regions, read_only=dry_run) as inventory:
        garbage = inventory.collect_garbage(
            seconds, regions=regions, bucket=bucket, dry_run=dry_run
        )
    garbage += collect_temporary_folders(seconds, dry_run=dry_run)
    rows = [{**item.to_dict(), "age": f"{item.age_seconds:.0f}s"} for item in garbage]
    echo_rows(
        rows,
        ["kind", "region", "size", "age", "location"],
        output,
        empty=f"nothing to remove (nothing unused older than {older_than})",
        data=[item.to_dict() for item in garbage],
    )
    if output == "table" and garbage:
        verb = "would remove" if dry_run else "removed"
        total = sum(item.size or 0 for item in garbage)
        click.echo(f"{verb} {len(garbage)} item(s), {total} bytes", err=True)


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# A token file is a line; anything bigger (or a FIFO, a device) is not one.
TOKEN_FILE_MAX_BYTES = 4096


def _token_of(token: str | None, token_file: Path | None) -> str | None:
    """The UI token from --token or --token-file (at most one), checked by the UI's rule."""
    from mimsreg.errors import BadInputError
    from mimsreg.ui.guard import valid_token

    if token is not None and token_file is not None:
        raise BadInputError("give --token or --token-file, not both")
    if token is not None:
        return valid_token(token, "--token")
    if token_file is None:
        return None
    source = f"--token-file {str(token_file)!r}"
    try:
        if not token_file.is_file():
            raise BadInputError(f"{source}: not a regular file")
        if token_file.stat().st_size > TOKEN_FILE_MAX_BYTES:
            raise BadInputError(f"{source}: over {TOKEN_FILE_MAX_BYTES} bytes")
        text = token_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{source}: cannot read it: {exc}") from exc
    return valid_token(text, source)


def _ui_url(host: str, port: int, allowed: Sequence[str], token: str | None) -> str:
    """The URL to open: the bound address, or for a wildcard bind the first extra host name."""
    if host in ("0.0.0.0", "::", ""):
        host = next((name for name in allowed if name not in LOOPBACK_HOSTS), "127.0.0.1")
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


@cli.command()
@inventory_option
@region_option("SageMaker: the regions to browse; default: MIMSREG_REGION, AWS_REGION, ...")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--allow-writes",
    is_flag=True,
    help="Offer approve/reject on the version page (with a confirmation step).",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer to this Host name (repeatable); loopback names and --host always are.",
)
@click.option(
    "--token",
    envvar="MIMSREG_UI_TOKEN",
    metavar="TOKEN",
    help="Require this token on every request (16+ URL-safe characters); env MIMSREG_UI_TOKEN.",
)
@click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="PATH",
    help="Read the token from this file (kept out of the process list).",
)
@handles_errors
def ui(
    inventory_uri: str,
    region_values: tuple[str, ...],
    host: str,
    port: int,
    allow_writes: bool,
    allowed_hosts: tuple[str, ...],
    token: str | None,
    token_file: Path | None,
) -> None:
    """Serve a web page and JSON API (/api/...) over the inventory; read only by default.

    Answers only to loopback Host names, --host and --allowed-host (400 otherwise, against DNS
    rebinding). Listening beyond loopback with --allow-writes needs --token or --token-file.
    """
    from mimsreg.engine.inventory import open_inventory
    from mimsreg.errors import BadInputError, MissingDependencyError

    try:
        import uvicorn

        from mimsreg.ui import create_app
        from mimsreg.ui.guard import exposure_problem, is_loopback, normalise_host, served_hosts
    except ImportError as exc:
        raise MissingDependencyError(
            f"mimsreg ui needs the 'ui' extra ({exc.name!r} is missing): pip install 'mimsreg[ui]'"
        ) from exc
    try:
        extra = [normalise_host(name) for name in allowed_hosts]
        hosts = served_hosts(host, extra)
    except ValueError as exc:
        raise BadInputError(f"--allowed-host/--host: {exc}") from exc
    secret = _token_of(token, token_file)
    problem = exposure_problem(host, allow_writes, secret)
    if problem:
        raise BadInputError(problem)
    if not is_loopback(host):
        risk = (
            "over plain HTTP: the token crosses the network readable; put TLS in front"
            if secret
            else "without a token: anyone who can reach it can read the inventory"
        )
        click.echo(f"warning: listening on {host} {risk} (docs/ui.md)", err=True)
    regions = _inventory_regions(inventory_uri, region_values)
    with open_inventory(inventory_uri, regions=regions, read_only=not allow_writes) as inventory:
        app = create_app(inventory, allow_writes=allow_writes, allowed_hosts=hosts, token=secret)
        mode = "approve/reject allowed" if allow_writes else "read only"
        link = _ui_url(host, port, extra, secret)
        click.echo(f"mimsreg ui on {link} ({inventory.name} inventory, {mode})")
        click.echo(f"answering to Host: {', '.join(hosts)}", err=True)
        uvicorn.run(app, host=host, port=port, log_level="warning")


# mimsreg.iam.POLICY_KINDS, spelled here so --help needs no AWS imports (a test keeps them equal).
IAM_POLICY_KINDS = ("register", "approve", "gc", "pipeline-role")


@cli.command("iam-policy")
@config_argument
@region_option("Target region; default: the config's region.")
@click.option("--account", default="*", show_default=True, help="AWS account id for the ARNs.")
@click.option(
    "--for",
    "kind",
    type=click.Choice(IAM_POLICY_KINDS),
    default="register",
    show_default=True,
    help="Whose policy: the registrar, the approvers, gc, or the pipeline's roles.",
)
@click.option(
    "--packaged-model",
    metavar="S3URI",
    help="pipeline-role: the packaged model's S3 location (object or prefix) the job reads.",
)
@handles_errors
def iam_policy(
    config_path: Path,
    region_values: tuple[str, ...],
    account: str,
    kind: str,
    packaged_model: str | None,
) -> None:
    """Print the least-privilege IAM policy one role needs for CONFIG (docs/iam.md)."""
    from mimsreg.iam import iam_policy as build_policy

    config = load_config(config_path)
    spec = config.to_spec()
    regions = _regions(region_values) or [spec.region]
    policy = build_policy(
        kind,
        spec,
        regions,
        account,
        role=config.role,
        packaged_model=packaged_model,
    )
    for message in policy.warnings:
        click.echo(f"warning: {message}", err=True)
    echo_json(policy.document)


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
@output_options
@handles_errors
def inspect_command(
    model_path: Path,
    config_path: Path | None,
    entry_point: str | None,
    output_format: str | None,
    as_json: bool,
) -> None:
    """Inspect a packaged model (model.tar.gz, a .tar, or a directory holding one).

    One streaming pass, nothing extracted: SHA-256 of the file, members, uncompressed size, entry
    point and model files. A broken or hostile archive (absolute or '..' paths, links leaving the
    archive, device files, duplicates, truncation, gzip bombs) is refused with the reason (exit 2).
    """
    from mimsreg._inflate import host_inflater
    from mimsreg.engine.inputs import refuse_special_file
    from mimsreg.engine.package import inspect_package
    from mimsreg.errors import InvalidPackageError

    output = _output_format(output_format, as_json)
    refuse_special_file(model_path, "model", InvalidPackageError)
    config = load_config(config_path) if config_path is not None else None
    try:
        size = model_path.stat().st_size if model_path.is_file() else 0
    except OSError:
        size = 0
    with byte_progress("inspecting", size, cumulative=True) as progress:
        manifest = inspect_package(
            model_path, config, entry_point=entry_point, progress=progress, inflater=host_inflater()
        )
    emit(manifest.to_dict(), output, lambda: _print_manifest(manifest))


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
    from mimsreg.engine.payload import (
        SUPPORTED_CONTENT_TYPES,
        generate_payload_archive,
        load_payload,
    )

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
    "--request",
    "request_path",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A request body sent verbatim (with --content-type) instead of the samples; the response "
    "is judged by output names where found.",
)
@click.option(
    "--content-type",
    "content_type",
    metavar="TYPE",
    default=None,
    help="The content type of --request (one of the declared content types).",
)
@click.option(
    "--install-requirements",
    is_flag=True,
    help="pip-install code/requirements.txt into a temporary folder first, in the sandbox: wheels "
    "only, plain requirements only (index, -e, VCS, URL and path lines are refused).",
)
@_check_environment_options
@click.option(
    "--wheelhouse",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --install-requirements: install only from the wheels in this folder (no network).",
)
@click.option(
    "--index-url",
    metavar="URL",
    default=None,
    help="With --install-requirements: the package index (default: pip's, PyPI; pip's own "
    "configuration and PIP_* variables are ignored).",
)
@isolation_option
@output_options
@handles_errors
def check(
    model: Path,
    config_path: Path,
    payload_path: str | None,
    timeout: float,
    install_requirements: bool,
    env: str,
    python: str | None,
    request_path: Path | None,
    content_type: str | None,
    wheelhouse: Path | None,
    index_url: str | None,
    isolation: str,
    output_format: str | None,
    as_json: bool,
) -> None:
    """Run a packaged model's inference handlers on sample payloads and check its responses.

    MODEL is a model.tar.gz, a folder holding one, or an extracted model (with code/). Its
    code/<inference_entry_point> runs in a separate Python process, called as the configured
    serving image calls it (defaults for missing input_fn/predict_fn/output_fn, context
    arguments, response objects), by default in an environment mirroring that image (--env).
    Every response must have a declared content type and hold every declared output variable
    with its type. Exit 0 when every sample passes, 1 when one fails, 2 for a bad configuration,
    archive, payload or option. The model's code runs in a sandbox (--isolation).
    """
    from mimsreg.check import check_model

    output = _output_format(output_format, as_json)
    config = load_config(config_path)
    with warnings.catch_warnings():
        # The report carries the warning; it is printed below, once.
        warnings.simplefilter("ignore", IsolationWarning)
        report = check_model(
            model,
            config,
            payload_path,
            timeout=timeout,
            install_requirements=install_requirements,
            isolation=isolation,
            wheelhouse=wheelhouse,
            index_url=index_url,
            python=python,
            env=env,
            request=request_path,
            content_type=content_type,
        )
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    emit(report.to_dict(), output, lambda: _print_report(report))
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


@cli.command()
@click.argument("reference", metavar="GROUP/VERSION")
@click.option(
    "--from",
    "from_uri",
    required=True,
    metavar="URI",
    help="Inventory holding the version: 'local', 'sqlite:///path/to/file.db' or 'sagemaker'.",
)
@click.option("--to", "to_uri", required=True, metavar="URI", help="Inventory to copy it to.")
@click.option(
    "--from-region",
    default=None,
    metavar="REGION",
    help="The version's region in the source (needed when it is in several).",
)
@region_option("Target region; default: the source's region.")
@click.option(
    "--status",
    type=click.Choice(["PendingManualApproval", "Approved", "Rejected"], case_sensitive=False),
    default=None,
    help="Approval status in the target; default: the source's.",
)
@click.option(
    "--bucket",
    default=None,
    metavar="NAME",
    help="SageMaker target: each region's S3 bucket, a name or a name with '{region}'.",
)
@click.option(
    "--kms-key-id",
    default=None,
    metavar="KEY",
    help="SageMaker target: KMS key of its S3 objects and versions ('{region}' filled in).",
)
@click.option("--dry-run", is_flag=True, help="Read and verify the source, print the plan.")
@output_options
@handles_errors
def promote(
    reference: str,
    from_uri: str,
    to_uri: str,
    from_region: str | None,
    region_values: tuple[str, ...],
    status: str | None,
    bucket: str | None,
    kms_key_id: str | None,
    dry_run: bool,
    output_format: str | None,
    as_json: bool,
) -> None:
    """Copy a version, with its artifact, payload, record and approval history, to another
    inventory (local → SageMaker in many regions, a region to another, SageMaker → local).

    Idempotent: the version keeps its identity, so a re-run is 'unchanged'. Exit 0 when every
    region is created or unchanged, 1 when one failed, 2 for bad input (nothing written).
    """
    from mimsreg.api import current_context
    from mimsreg.engine.inventory import open_inventory
    from mimsreg.engine.promote import Source, promote
    from mimsreg.engine.spec import ApprovalStatus

    if to_uri == "sagemaker" and bucket is None and not dry_run:
        raise BadInputError(
            "--bucket: a SageMaker target needs each region's S3 bucket: a name, or a name "
            "with {region} (mimsreg-models-{region})"
        )
    output = _output_format(output_format, as_json)
    chosen = ApprovalStatus(status).value if status else None
    with open_inventory(from_uri, regions=_listed(from_region), read_only=True) as inventory:
        region, group, version = _locate(inventory, reference, from_region)
        source = Source(inventory, from_uri, region, group, version)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RegistryWarning)
            promotion = promote(
                source,
                lambda targets: open_inventory(to_uri, regions=targets),
                _regions(region_values) or None,
                context=current_context(),
                status=chosen,
                bucket=bucket,
                kms_key_id=kms_key_id,
                dry_run=dry_run,
                progress=lambda phase, total: byte_progress(phase, total),
            )
    _echo_warnings(caught)
    rows = [result.to_dict() for result in promotion.results]
    if output != "table":
        emit(rows, output)
    else:
        click.echo(f"{promotion.source.id} ({promotion.source.approval_status}) → {to_uri}")
        echo_table(
            [{**row, "sha256": row["sha256"][:12]} for row in rows],
            ["region", "group", "version", "status", "sha256", "id"],
        )
        for result in promotion.results:
            if result.error:
                click.echo(f"error: {result.region}: {result.error}", err=True)
        if dry_run:
            click.echo("dry run: the source was read and verified; nothing was written")
    if not promotion.ok:
        sys.exit(EXIT_FAILED)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mimsreg")
