"""What the pages and the JSON API show, read from the inventory: group summaries with filters,
a version with its schema, digests per region and history."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from starlette.requests import Request

from mimsreg.engine.inventory.base import Inventory, VersionRecord
from mimsreg.engine.spec import ApprovalStatus, normalise_region
from mimsreg.errors import BadInputError

# The two decisions the page offers, as the CLI's `approve` and `approve --reject`.
__all__ = [
    "DECISIONS",
    "FILTERS",
    "STATUSES",
    "GroupSummary",
    "api_version",
    "filters_of",
    "groups_of",
    "local_payload",
    "open_payload",
    "payload_digest",
    "region_of",
    "summaries",
    "version_context",
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


def _text(value: object) -> str:
    return "" if value is None else str(value)


def summaries(inventory: Inventory, region: str | None = None) -> list[GroupSummary]:
    """Groups with their metadata (from each group's newest version) and per-region status."""
    by_group: dict[str, list[VersionRecord]] = {}
    for record in inventory.list_versions(region=region):
        by_group.setdefault(record.group, []).append(record)
    summaries = []
    for group, records in sorted(by_group.items()):
        newest = max(records, key=lambda r: (r.version, r.region))
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
    in_region = summaries(inventory, filters["region"] or None)
    # The owner and domain choices stay the same whichever region is chosen.
    every = summaries(inventory) if filters["region"] else in_region
    return {
        "groups": [s for s in in_region if _matches(s, filters)],
        "owners": sorted({s.owner for s in every if s.owner}),
        "domains": sorted({s.domain for s in every if s.domain}),
    }


def version_context(inventory: Inventory, group: str, version: int, region: str) -> dict[str, Any]:
    """Everything the version page and its API show: the record and the digest in each region."""
    record = inventory.get_version(region, group, version)
    data = record.to_dict()
    digests: list[dict[str, Any]] = [
        {
            "region": r.region,
            "sha256": r.sha256,
            "approval_status": r.approval_status,
            "differs": r.sha256 != record.sha256,
        }
        for r in inventory.list_versions(group=group)
        if r.version == version
    ]
    schema = data.get("variable_schema") or {}
    return {
        "record": record,
        "data": data,
        "inputs": (schema.get("input") or {}).get("variables") or [],
        "outputs": (schema.get("output") or {}).get("variables") or [],
        "digests": digests,
        "regions_disagree": any(row["differs"] for row in digests),
    }


def api_version(context: dict[str, Any]) -> dict[str, Any]:
    data = dict(context["data"])
    data["regions"] = context["digests"]
    data["regions_disagree"] = context["regions_disagree"]
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
