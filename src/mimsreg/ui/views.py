"""What the pages and the JSON API show, read from the inventory: group summaries with filters,
a version with its schema, digests per region and history."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from starlette.requests import Request

from mimsreg.engine.inventory.base import Inventory, VersionRecord
from mimsreg.engine.spec import ApprovalStatus, normalise_region
from mimsreg.errors import BadInputError, NotFoundError
from mimsreg.ui.tables import TableQuery, moment

# The two decisions the page offers, as the CLI's `approve` and `approve --reject`.
__all__ = [
    "DECISIONS",
    "FILTERS",
    "GROUP_SORTS",
    "STATUSES",
    "VERSION_SORTS",
    "GroupSummary",
    "api_version",
    "drifted_releases",
    "filters_of",
    "group_rows",
    "groups_of",
    "local_payload",
    "open_payload",
    "payload_digest",
    "region_of",
    "registered_by_text",
    "summaries",
    "version_context",
    "with_details",
]

DECISIONS = {"approve": ApprovalStatus.APPROVED.value, "reject": ApprovalStatus.REJECTED.value}
STATUSES = [status.value for status in ApprovalStatus]
FILTERS = ("q", "owner", "domain", "status", "region")
SHA256 = re.compile(r"[0-9a-f]{64}")
PAYLOAD_CHUNK = 1024 * 1024


@dataclass
class GroupSummary:
    """One row of the groups page."""

    group: str
    owner: str
    domain: str
    objective: str
    versions: list[int] = field(default_factory=list)
    # Region -> (latest version number there, its approval status).
    latest: dict[str, tuple[int, str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "owner": self.owner,
            "domain": self.domain,
            "objective": self.objective,
            "version_count": len(self.versions),
            "versions": self.versions,
            "latest": {
                region: {"version": version, "approval_status": status}
                for region, (version, status) in sorted(self.latest.items())
            },
        }


# The sortable columns of the groups and group tables, with the order each starts in.
GROUP_SORTS: dict[str, Callable[[GroupSummary], Any]] = {
    "group": lambda s: s.group.casefold(),
    "owner": lambda s: s.owner.casefold(),
    "domain": lambda s: s.domain.casefold(),
    "objective": lambda s: s.objective.casefold(),
    "versions": lambda s: len(s.versions),
}
GROUPS_DEFAULT = TableQuery("group", "asc")
VERSION_SORTS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "version": lambda r: r["version"],
    "region": lambda r: r["region"],
    "approval_status": lambda r: r["approval_status"],
    "created_at": lambda r: moment(r["created_at"]),
    "release": lambda r: r["release"],
}
VERSIONS_DEFAULT = TableQuery("version", "desc")
# Newest first when their header is clicked: what people look for in a long table.
FIRST_ORDER = {"version": "desc", "created_at": "desc", "versions": "desc"}


def _text(value: object) -> str:
    return "" if value is None else str(value)


# What a group row shows of its newest version's record. list_versions summaries carry these keys
# when the backend has them at no extra cost (both do); otherwise that version is read whole.
GROUP_KEYS = ("model_owner", "model_registration_domain", "model_registration_objective")


def summaries(inventory: Inventory, region: str | None = None) -> list[GroupSummary]:
    """Groups with their metadata (from each group's newest version) and per-region status."""
    return _summarise(inventory, inventory.list_versions(region=region))


def _summarise(inventory: Inventory, listed: list[VersionRecord]) -> list[GroupSummary]:
    by_group: dict[str, list[VersionRecord]] = {}
    for record in listed:
        by_group.setdefault(record.group, []).append(record)
    summaries = []
    for group, records in sorted(by_group.items()):
        newest = max(records, key=lambda r: (r.version, r.region))
        full: dict[str, Any] = newest.record
        if not all(key in full for key in GROUP_KEYS):
            full = inventory.get_version(newest.region, group, newest.version).to_dict()
        summary = GroupSummary(
            group=group,
            owner=_text(full.get("model_owner")),
            domain=_text(full.get("model_registration_domain")),
            objective=_text(full.get("model_registration_objective")),
            versions=sorted({r.version for r in records}),
        )
        for record in records:
            known = summary.latest.get(record.region)
            if known is None or record.version > known[0]:
                summary.latest[record.region] = (record.version, record.approval_status)
        summaries.append(summary)
    return summaries


def _matches(summary: GroupSummary, filters: dict[str, str]) -> bool:
    query = filters.get("q", "").casefold()
    if query and not any(
        query in text.casefold()
        for text in (summary.group, summary.owner, summary.domain, summary.objective)
    ):
        return False
    if filters.get("owner") and summary.owner != filters["owner"]:
        return False
    if filters.get("domain") and summary.domain != filters["domain"]:
        return False
    status = filters.get("status")
    return not status or any(s == status for _, s in summary.latest.values())


def filters_of(request: Request) -> dict[str, str]:
    """The search and filter query parameters, trimmed; the region normalised (400 if unknown)."""
    filters = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    if filters["region"]:
        filters["region"] = region_of(filters["region"])
    if filters["status"] and filters["status"] not in STATUSES:
        raise BadInputError(f"status {filters['status']!r}: use one of {', '.join(STATUSES)}")
    return filters


def region_of(value: str) -> str:
    try:
        return normalise_region(value)
    except ValueError as exc:
        raise BadInputError(f"region: {exc}") from exc


def groups_of(inventory: Inventory, filters: dict[str, str]) -> dict[str, Any]:
    # One listing of every region: the owner and domain choices stay the same whichever region
    # is chosen, and the chosen region's rows come from the same records.
    listed = inventory.list_versions()
    every = _summarise(inventory, listed)
    in_region = every
    if filters["region"]:
        chosen = [r for r in listed if r.region == filters["region"]]
        # A region outside those listed by default is read on its own.
        chosen = chosen or inventory.list_versions(region=filters["region"])
        in_region = _summarise(inventory, chosen)
    return {
        "groups": [s for s in in_region if _matches(s, filters)],
        "owners": sorted({s.owner for s in every if s.owner}),
        "domains": sorted({s.domain for s in every if s.domain}),
    }


def version_context(inventory: Inventory, group: str, version: int, region: str) -> dict[str, Any]:
    """Everything the version page and its API show: the record and the digest in each region."""
    record = inventory.get_version(region, group, version)
    data = record.to_dict()
    listed = inventory.list_versions(group=group)
    digests: list[dict[str, Any]] = [
        {
            "region": r.region,
            "sha256": r.sha256,
            "approval_status": r.approval_status,
            "differs": r.sha256 != record.sha256,
        }
        for r in listed
        if r.version == version
    ]
    schema = data.get("variable_schema") or {}
    return {
        **_release_context(record, listed),
        **details(data),
        "record": record,
        "data": data,
        "inputs": (schema.get("input") or {}).get("variables") or [],
        "outputs": (schema.get("output") or {}).get("variables") or [],
        "digests": digests,
        "regions_disagree": any(row["differs"] for row in digests),
    }


def _release_context(record: VersionRecord, listed: list[VersionRecord]) -> dict[str, Any]:
    """The version's release and its number in every region that holds it (found by identity,
    never by number), marked where the numbers differ."""
    if not record.identity:
        return {"release": "", "release_regions": [], "numbers_differ": False}
    regions = [
        {"region": r.region, "version": r.version, "approval_status": r.approval_status}
        for r in listed
        if r.identity == record.identity
    ]
    return {
        "release": record.release,
        "release_regions": regions,
        "numbers_differ": len({row["version"] for row in regions}) > 1,
    }


def api_version(context: dict[str, Any]) -> dict[str, Any]:
    data = dict(context["data"])
    data["regions"] = context["digests"]
    data["regions_disagree"] = context["regions_disagree"]
    for key in ("release", "release_regions", "numbers_differ"):
        data[key] = context[key]
    return data


def payload_digest(record: VersionRecord) -> str | None:
    """The sample payload's sha256 as the version recorded it (a digest, never a path)."""
    digest = record.record.get("payload_sha256")
    return digest if isinstance(digest, str) and SHA256.fullmatch(digest) else None


def local_payload(inventory: Inventory, record: VersionRecord) -> Path | None:
    """The sample payload's file, looked up by digest in the inventory's own store.

    The record's ``payload_uri`` is never opened: a forged row must not serve another file.
    """
    digest = payload_digest(record)
    return inventory.stored_payload_file(digest) if digest else None


def open_payload(path: Path, sha256: str) -> tuple[BinaryIO, int] | None:
    """``path`` opened (no symlink, a regular file) once its bytes hash to ``sha256``; the
    handle at offset 0 and its size. None (nothing left open) otherwise."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    handle = os.fdopen(descriptor, "rb")
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise ValueError("not a regular file")
        digest = hashlib.sha256()
        for chunk in iter(lambda: handle.read(PAYLOAD_CHUNK), b""):
            digest.update(chunk)
        if digest.hexdigest() != sha256:
            raise ValueError("the stored bytes do not match the digest")
        handle.seek(0)
    except (OSError, ValueError):
        handle.close()
        return None
    return handle, status.st_size


def _numbers_by_release(records: list[VersionRecord]) -> dict[str, dict[str, int]]:
    """Release -> region -> the version number it has there."""
    numbers: dict[str, dict[str, int]] = {}
    for record in records:
        if record.identity:
            numbers.setdefault(record.identity, {})[record.region] = record.version
    return numbers


def group_rows(inventory: Inventory, group: str) -> list[dict[str, Any]]:
    """A group's versions, newest first, each marked where its regions hold other artifacts under
    the same number (``regions_disagree``) and where its release has another number in another
    region (``numbers_differ``, with ``release_versions``: region -> number)."""
    records: list[VersionRecord] = inventory.list_versions(group=group)
    if not records:
        raise NotFoundError(f"group {group!r} is not in the {inventory.name} inventory")
    numbers = _numbers_by_release(records)
    rows = []
    for record in records:
        row = record.summary()
        same = {r.sha256 for r in records if r.version == record.version}
        by_region = numbers.get(record.identity, {})
        row.update(
            regions_disagree=len(same) > 1,
            release_versions=dict(sorted(by_region.items())),
            numbers_differ=len(set(by_region.values())) > 1,
        )
        rows.append(row)
    return sorted(rows, key=lambda r: (-r["version"], r["region"]))


def details(data: dict[str, Any]) -> dict[str, Any]:
    """What tells versions apart beyond their numbers: description, tags, who registered it."""
    tags = data.get("tags")
    by = data.get("registered_by")
    return {
        "description": _text(data.get("description")),
        "tags": dict(sorted(tags.items())) if isinstance(tags, dict) else {},
        "registered_by": by if isinstance(by, dict) else {},
    }


def with_details(inventory: Inventory, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (one page: listings carry no record) each with its version's :func:`details`."""
    return [
        {
            **row,
            **details(inventory.get_version(row["region"], row["group"], row["version"]).to_dict()),
        }
        for row in rows
    ]


def drifted_releases(rows: list[dict[str, Any]]) -> list[tuple[str, dict[str, int]]]:
    """The releases of :func:`group_rows` whose version numbers differ across regions, with the
    number each region gave them."""
    drifted = {row["release"]: row["release_versions"] for row in rows if row["numbers_differ"]}
    return sorted(drifted.items())


def registered_by_text(by: dict[str, Any]) -> str:
    """Who registered a version and from where: ``user on host``, and the pipeline execution."""
    text = _text(by.get("user")) or "unknown"
    if by.get("host"):
        text += f" on {by['host']}"
    if by.get("pipeline_execution_id"):
        text += f", pipeline execution {by['pipeline_execution_id']}"
    return text
