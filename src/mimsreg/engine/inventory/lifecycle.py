"""A version's life after registration: approval decisions (also of one release in every region),
tags and description, comparing two versions, choosing versions to list.

The rules live here once, for every backend and front end: a tag valid locally is valid on
SageMaker (which keeps a version's tags as metadata, ``mimsreg:tag:<key>``, since versions carry
no AWS tags), and an approval that changes nothing records nothing.

Portable (Python 3.9, standard library).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from mimsreg.engine.aws_rules import DESCRIPTION_MAX, tag_text_allowed
from mimsreg.engine.errors import BadInputError
from mimsreg.engine.inventory.gc import parse_duration
from mimsreg.engine.spec import ApprovalStatus

if TYPE_CHECKING:
    from mimsreg.engine.inventory.base import Inventory, VersionRecord

__all__ = [
    "TAG_KEY_MAX",
    "TAG_META_PREFIX",
    "Decision",
    "VersionFilter",
    "approve_release",
    "check_description",
    "check_tags",
    "decide",
    "diff_versions",
    "parse_since",
    "parse_status",
    "parse_tag_assignments",
    "parse_timestamp",
]

TAG_META_PREFIX = "mimsreg:tag:"
TAG_KEY_MAX = 128 - len(TAG_META_PREFIX)  # a CustomerMetadataKey is at most 128 characters
TAG_VALUE_MAX = 256
_STATUS_ALIASES = {
    "pending": ApprovalStatus.PENDING_MANUAL_APPROVAL.value,
    "approved": ApprovalStatus.APPROVED.value,
    "rejected": ApprovalStatus.REJECTED.value,
}


# --- approval ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """One approval decision: ``recorded`` is False when the version already had the status and
    no note was given (then nothing was written)."""

    record: VersionRecord
    previous: str
    recorded: bool

    @property
    def changed(self) -> bool:
        return self.previous != self.record.approval_status

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.record.to_dict(),
            "previous_status": self.previous,
            "changed": self.changed,
            "recorded": self.recorded,
        }


def decide(
    inventory: Inventory,
    region: str,
    group: str,
    version: int,
    status: str,
    actor: str,
    note: str | None = None,
) -> Decision:
    """Set ``status`` unless the version has it already; with a ``note`` the decision is
    recorded all the same (a second approver's word is history worth keeping)."""
    current = inventory.get_version(region, group, version)
    if current.approval_status == status and note is None:
        return Decision(current, current.approval_status, recorded=False)
    record = inventory.set_approval(region, group, version, status, actor, note)
    return Decision(record, current.approval_status, recorded=True)


def approve_release(
    inventory: Inventory, anchor: VersionRecord, status: str, actor: str, note: str | None = None
) -> list[Decision]:
    """``status`` for the release of ``anchor`` in every region that holds it, found by identity
    (its number may differ from region to region), ``anchor``'s own region first."""
    versions = inventory.versions_of(anchor.group, anchor.identity)
    if not any(v.region == anchor.region for v in versions):
        versions.append(anchor)
    ordered = sorted(versions, key=lambda v: (v.region != anchor.region, v.region))
    return [decide(inventory, v.region, v.group, v.version, status, actor, note) for v in ordered]


def parse_status(text: str, option: str = "--status") -> str:
    """An approval status from its name in any case, or ``pending``/``approved``/``rejected``."""
    alias = _STATUS_ALIASES.get(text.strip().lower())
    if alias is not None:
        return alias
    try:
        return ApprovalStatus(text).value
    except ValueError:
        names = ", ".join([*_STATUS_ALIASES, *(s.value for s in ApprovalStatus)])
        raise BadInputError(f"{option}: {text!r} is not an approval status ({names})") from None


# --- tags and description ------------------------------------------------------------------------
def parse_tag_assignments(items: Sequence[str]) -> dict[str, str]:
    """``key=value`` words as a mapping (the value may be empty, may hold ``=``)."""
    tags: dict[str, str] = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise BadInputError(f"tag {item!r}: write key=value (for example team=fraud)")
        tags[key.strip()] = value
    return tags


def check_tags(tags: Mapping[str, str], remove: Sequence[str] = ()) -> None:
    """Keys of 1-{TAG_KEY_MAX} and values of 0-256 characters of letters, digits, spaces and
    ``_.:/=+-@`` (AWS's tag rules), no reserved ``aws:`` key; nothing both set and removed."""
    problems = []
    for key in [*tags, *remove]:
        if not 0 < len(key) <= TAG_KEY_MAX or not tag_text_allowed(key):
            problems.append(f"tag key {key!r}: 1-{TAG_KEY_MAX} letters, digits, spaces or _.:/=+-@")
        elif key.lower().startswith("aws:"):
            problems.append(f"tag key {key!r}: the prefix 'aws:' is reserved for AWS")
    for key, value in tags.items():
        if len(value) > TAG_VALUE_MAX or not tag_text_allowed(value):
            problems.append(
                f"tag {key!r}: the value must be 0-{TAG_VALUE_MAX} letters, digits, spaces "
                "or _.:/=+-@"
            )
    both = sorted(set(tags) & set(remove))
    if both:
        problems.append(f"tag {', '.join(map(repr, both))}: both set and removed")
    if not tags and not remove:
        problems.append("no tag to set (key=value) or remove (--remove key)")
    if problems:
        raise BadInputError("; ".join(problems))


def check_description(text: str) -> str:
    """The description as stored: not blank, at most {DESCRIPTION_MAX} characters."""
    if not text.strip():
        raise BadInputError("description: empty; write the text to keep")
    if len(text) > DESCRIPTION_MAX:
        raise BadInputError(
            f"description: {len(text)} characters, at most {DESCRIPTION_MAX} are kept"
        )
    return text


def edited_record(
    record: Mapping[str, Any],
    tags: Mapping[str, str] | None,
    remove_tags: Sequence[str],
    description: str | None,
) -> dict[str, Any]:
    """``record`` with the tags set and removed and the description replaced."""
    edited = dict(record)
    merged = {**dict(edited.get("tags") or {}), **dict(tags or {})}
    for key in remove_tags:
        merged.pop(key, None)
    edited["tags"] = merged
    if description is not None:
        edited["description"] = description
    return edited


# --- comparing -----------------------------------------------------------------------------------
# Reported in a section of their own, or the version's own bookkeeping rather than its metadata.
_NOT_METADATA = frozenset(
    {
        "variable_schema",
        "sha256",
        "artifact",
        "approval_status",
        "approval_history",
        "group",
        "version",
        "region",
        "id",
        "identity",
        "release",
        "metadata_hash",
        "created_at",
        "registered_by",
        "record_uri",
        "artifact_uri",
        "payload_uri",
        "owner",
        "domain",
    }
)


def _schema_changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for side in ("input", "output"):
        before = {v["name"]: v["type"] for v in (a.get(side) or {}).get("variables") or []}
        after = {v["name"]: v["type"] for v in (b.get(side) or {}).get("variables") or []}
        entry: dict[str, Any] = {
            "added": [{"name": n, "type": t} for n, t in after.items() if n not in before],
            "removed": [{"name": n, "type": t} for n, t in before.items() if n not in after],
            "changed": [
                {"name": n, "a": before[n], "b": t}
                for n, t in after.items()
                if n in before and before[n] != t
            ],
        }
        if list(before) != list(after) and not any(entry.values()):
            entry["reordered"] = True
        if any(entry.values()):
            changes[side] = entry
    return changes


def diff_versions(a: VersionRecord, b: VersionRecord) -> dict[str, Any]:
    """What differs between two versions: metadata fields, the variable schema, the archive's
    digest, the approval status (``same`` when nothing does)."""
    first, second = a.to_dict(), b.to_dict()
    metadata = {
        key: {"a": first.get(key), "b": second.get(key)}
        for key in sorted((set(first) | set(second)) - _NOT_METADATA)
        if first.get(key) != second.get(key)
    }
    schema = _schema_changes(
        first.get("variable_schema") or {}, second.get("variable_schema") or {}
    )
    digest = {"a": a.sha256, "b": b.sha256, "same": a.sha256 == b.sha256}
    approval = {
        "a": a.approval_status,
        "b": b.approval_status,
        "same": a.approval_status == b.approval_status,
    }
    return {
        "a": {"group": a.group, "version": a.version, "region": a.region, "release": a.release},
        "b": {"group": b.group, "version": b.version, "region": b.region, "release": b.release},
        "same_release": a.identity == b.identity,
        "metadata": metadata,
        "schema": schema,
        "digest": digest,
        "approval": approval,
        "same": not metadata and not schema and digest["same"] and approval["same"],
    }


# --- choosing versions to list -------------------------------------------------------------------
def parse_timestamp(text: str) -> datetime | None:
    """An ISO-8601 time as the backends write them (``Z`` or an offset; naive means UTC)."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``--since``: a duration back from now (``7d``, ``24h``) or a date or time (ISO 8601)."""
    try:
        seconds = parse_duration(text)
    except BadInputError:  # not a duration: a date or time, then
        pass
    else:
        return (now or datetime.now(timezone.utc)) - timedelta(seconds=seconds)
    parsed = parse_timestamp(text)
    if parsed is None:
        raise BadInputError(
            f"--since: {text!r} is neither a duration (30m, 24h, 7d) nor a date or time "
            "(2026-01-31, 2026-01-31T12:00:00Z)"
        )
    return parsed


@dataclass(frozen=True)
class VersionFilter:
    """Which versions ``list`` shows; each criterion left None admits every version."""

    status: str | None = None
    owner: str | None = None
    domain: str | None = None
    since: datetime | None = None

    def admits(self, record: VersionRecord) -> bool:
        if self.status is not None and record.approval_status != self.status:
            return False
        if self.owner is not None and record.owner.casefold() != self.owner.casefold():
            return False
        if self.domain is not None and record.domain.casefold() != self.domain.casefold():
            return False
        if self.since is not None:
            created = parse_timestamp(record.created_at)
            if created is None or created < self.since:
                return False
        return True

    def select(self, records: Sequence[VersionRecord]) -> list[VersionRecord]:
        return [record for record in records if self.admits(record)]
