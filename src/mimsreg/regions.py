"""Which regions a command works in: ``--region`` values, else the environment's defaults.

Every command that takes ``--region`` reads it here, so all of them accept the same things: the
option repeated, comma-separated lists, AWS names in any case and the legacy codes (NA, EU, FE),
with "did you mean" for a typo. When no ``--region`` is given, a SageMaker inventory looks in
the first of:

1. ``MIMSREG_REGION`` (mimsreg's own: it may name several regions, comma-separated);
2. ``AWS_REGION``;
3. ``AWS_DEFAULT_REGION``;
4. the region of the AWS profile (``AWS_PROFILE``, else the default profile).

mimsreg's own variable comes first because it is the more specific setting (as
``MIMSREG_INVENTORY`` is for the inventory). A local inventory holds every region in one file,
so it reads all of them unless ``--region`` narrows it; commands with a configuration file
(``register``, ``pipeline``, ``iam-policy``) default to the configuration's ``region``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from mimsreg.engine.spec import KNOWN_REGIONS, REGION_CODES, normalise_region
from mimsreg.errors import BadInputError

__all__ = [
    "REGION_ENVIRONMENT",
    "default_regions",
    "parse_regions",
    "profile_region",
    "region_choices",
]

# The variables read, in order; the first one set wins.
REGION_ENVIRONMENT = ("MIMSREG_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")


def parse_regions(values: Sequence[str], source: str = "--region") -> list[str]:
    """AWS region names of ``values`` (each may hold comma-separated names or codes), in order,
    each once; :class:`BadInputError` naming ``source`` and the value for anything else."""
    regions: list[str] = []
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            try:
                region = normalise_region(part)
            except ValueError as exc:
                raise BadInputError(f"{source}: {exc}") from exc
            if region not in regions:
                regions.append(region)
    return regions


def profile_region() -> str | None:
    """The region of the AWS profile in use (``AWS_PROFILE`` or the default), or None. Reads
    the AWS config files through botocore, so only commands that talk to AWS call it."""
    import botocore.session

    try:
        region = botocore.session.Session().get_config_variable("region")
    except Exception:  # a broken profile is reported by the AWS call itself
        return None
    return str(region) if region else None


def default_regions(
    environ: Mapping[str, str] | None = None, *, with_profile: bool = True
) -> list[str]:
    """The regions a SageMaker command uses when no ``--region`` is given (see the module's
    order); empty when nothing names one."""
    environ = os.environ if environ is None else environ
    for name in REGION_ENVIRONMENT:
        value = environ.get(name, "").strip()
        if value:
            return parse_regions([value], name)
    if with_profile:
        region = profile_region()
        if region:
            return parse_regions([region], "the AWS profile's region")
    return []


def region_choices(incomplete: str) -> list[str]:
    """What shell completion offers for ``--region``: codes and known region names."""
    typed = incomplete.rpartition(",")[2]
    prefix = incomplete[: len(incomplete) - len(typed)]
    return [
        prefix + choice
        for choice in (*REGION_CODES, *KNOWN_REGIONS)
        if choice.lower().startswith(typed.lower())
    ]
