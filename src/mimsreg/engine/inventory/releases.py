"""Naming versions: ``GROUP/VERSION``, ``GROUP/latest`` and ``GROUP@RELEASE``, and one release
followed across regions.

Version numbers are per region: a group registered in another order in eu-west-1 than in
us-east-1 numbers the same model differently. A release id does not drift: it is the start of the
version's identity (group, archive digest, metadata and payload; see
``plan.registration_identity``), which every region registered from the same configuration
shares. ``GROUP@RELEASE`` takes any
unique prefix of it; ``GROUP/latest`` is the highest number in a region.

Portable (Python 3.9, standard library): the CLI and the UI share it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mimsreg.engine.errors import BadInputError, NotFoundError
from mimsreg.engine.inventory.base import RELEASE_LENGTH, release_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mimsreg.engine.inventory.base import Inventory, VersionRecord

__all__ = [
    "MIN_RELEASE_PREFIX",
    "Reference",
    "locate",
    "number_drift",
    "parse_reference",
    "resolve",
]

MIN_RELEASE_PREFIX = 4
_RELEASE = re.compile(rf"^[0-9a-f]{{{MIN_RELEASE_PREFIX},64}}$")
LATEST = "latest"
FORMS = "GROUP/VERSION (for example FraudModel/3), GROUP/latest or GROUP@RELEASE"


@dataclass(frozen=True)
class Reference:
    """A version as the user names it: exactly one of ``version``, ``release``, ``latest``."""

    text: str
    group: str
    version: int | None = None
    release: str | None = None  # a prefix of the identity, lower case
    latest: bool = False

    def describe(self) -> str:
        if self.release is not None:
            return f"{self.group}@{self.release}"
        return f"{self.group}/{LATEST if self.latest else self.version}"


def parse_reference(text: str) -> Reference:
    """``GROUP/VERSION``, ``GROUP/latest`` or ``GROUP@RELEASE``; :class:`BadInputError` else."""
    if "@" in text:
        group, _, release = text.rpartition("@")
        release = release.strip().lower()
        if group and "/" not in group and _RELEASE.match(release):
            return Reference(text, group, release=release)
        raise BadInputError(
            f"{text!r} is not {FORMS}: a release is {MIN_RELEASE_PREFIX} to 64 hex digits "
            f"(list shows {RELEASE_LENGTH})"
        )
    group, _, tail = text.rpartition("/")
    if group and tail == LATEST:
        return Reference(text, group, latest=True)
    if not group or not tail.isdigit() or int(tail) < 1:
        raise BadInputError(f"{text!r} is not {FORMS}")
    return Reference(text, group, version=int(tail))


def _matches(reference: Reference, versions: Sequence[VersionRecord]) -> list[VersionRecord]:
    """The versions (of one group) the reference names, at most one per region."""
    if reference.version is not None:
        return [v for v in versions if v.version == reference.version]
    if reference.latest:
        newest: dict[str, VersionRecord] = {}
        for version in versions:
            kept = newest.get(version.region)
            if kept is None or version.version > kept.version:
                newest[version.region] = version
        return sorted(newest.values(), key=lambda v: v.region)
    prefix = str(reference.release)
    found = [v for v in versions if v.identity.startswith(prefix)]
    releases = sorted({v.identity for v in found})
    if len(releases) > 1:
        named = ", ".join(release_of(identity) for identity in releases)
        raise BadInputError(
            f"{reference.text!r} is ambiguous: releases {named} of {reference.group} start with "
            f"{prefix!r}: give more digits"
        )
    return found


def resolve(
    inventory: Inventory, reference: Reference, region: str | None = None
) -> list[VersionRecord]:
    """Every version (summaries) ``reference`` names: in ``region``, or in each region of the
    inventory's default ones (one per region)."""
    versions = inventory.list_versions(region=region, group=reference.group)
    return _matches(reference, versions)


def locate(
    inventory: Inventory, reference: Reference, region: str | None = None
) -> tuple[str, str, int]:
    """Region, group and number of the one version ``reference`` names; the region may be left
    out when only one region holds it. :class:`NotFoundError` when none does."""
    if reference.version is not None and region is not None:
        return region, reference.group, reference.version  # the backend says if it is absent
    if reference.version is not None:
        regions = inventory.regions_of(reference.group, reference.version)
        found = [(name, reference.version) for name in regions]
    else:
        found = [(v.region, v.version) for v in resolve(inventory, reference, region)]
    where = f" in region {region}" if region else ""
    if not found:
        raise NotFoundError(
            f"{reference.describe()} is not in the {inventory.name} inventory{where}"
        )
    if len(found) > 1:
        listed = ", ".join(
            name if reference.version is not None else f"{name} {reference.group}/{number}"
            for name, number in found
        )
        raise BadInputError(
            f"{reference.describe()} exists in several regions ({listed}): choose one with --region"
        )
    return found[0][0], reference.group, found[0][1]


def number_drift(versions: Sequence[VersionRecord]) -> str | None:
    """A warning when one release (``versions``: its versions in several regions) carries
    different numbers, else None."""
    numbers = {v.version for v in versions}
    if len(numbers) < 2:
        return None
    first = versions[0]
    listed = ", ".join(f"{v.region} {v.group}/{v.version}" for v in sorted(versions, key=_region))
    return (
        f"release {first.release} of {first.group} has different version numbers across "
        f"regions ({listed}): name it {first.group}@{first.release}, or approve it everywhere "
        "with --all-regions, rather than by number"
    )


def _region(version: VersionRecord) -> str:
    return version.region
