"""The small interface every inventory backend implements, and the records it returns.

Portable (Python 3.9, standard library): the SageMaker backend runs inside processing jobs.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mimsreg.engine.errors import InventoryError
from mimsreg.engine.plan import RegionPlan, RegistrationPlan

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mimsreg.engine.inventory.gc import Garbage

__all__ = [
    "PROMOTED_FROM",
    "RELEASE_LENGTH",
    "ApprovalEvent",
    "CreateOutcome",
    "Inventory",
    "Progress",
    "Tombstone",
    "VersionRecord",
    "initial_history",
    "release_of",
]

# The record key of a version copied from another inventory by ``mimsreg promote``: where it came
# from (inventory, id, region, group, version), its approval history there, who promoted it.
PROMOTED_FROM = "promoted_from"

Progress = Callable[[int], None]

# Hex digits of the identity a release id shows: 48 bits, unique enough within one group.
RELEASE_LENGTH = 12


def release_of(identity: str) -> str:
    """The cross-region release id of a version: the start of its identity, which every region
    shares (group, archive digest, metadata and payload; never the region or the number)."""
    return identity[:RELEASE_LENGTH]


@dataclass(frozen=True)
class ApprovalEvent:
    """One change of approval status, kept as history."""

    status: str
    actor: str
    at: str
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "actor": self.actor, "at": self.at, "note": self.note}


@dataclass(frozen=True)
class VersionRecord:
    """A registered model version as an inventory holds it."""

    region: str
    group: str
    version: int
    id: str
    sha256: str
    identity: str
    approval_status: str
    created_at: str
    artifact_uri: str
    record: dict[str, Any] = field(default_factory=dict, repr=False)
    payload_uri: str | None = None
    approval_history: tuple[ApprovalEvent, ...] = ()
    owner: str = ""  # model_owner and model_registration_domain, in summaries too (list filters)
    domain: str = ""

    @property
    def release(self) -> str:
        """The id this version shares with the same registration in every other region."""
        return release_of(self.identity)

    def summary(self) -> dict[str, Any]:
        """The row ``mimsreg list`` prints."""
        return {
            "group": self.group,
            "version": self.version,
            "region": self.region,
            "approval_status": self.approval_status,
            "sha256": self.sha256,
            "created_at": self.created_at,
            "release": self.release,
            "owner": self.owner,
            "domain": self.domain,
        }

    def to_dict(self) -> dict[str, Any]:
        """The whole record ``mimsreg show`` prints."""
        data = dict(self.record)
        data.update(self.summary())
        data.update(
            {
                "id": self.id,
                "identity": self.identity,
                "artifact_uri": self.artifact_uri,
                "payload_uri": self.payload_uri,
                "approval_history": [event.to_dict() for event in self.approval_history],
            }
        )
        return data


def initial_history(record: Mapping[str, Any], at: str) -> list[ApprovalEvent]:
    """The approval history a new version starts with, written with it by every backend.

    A registered version: one event, its status ``registered`` by the user who registered it. A
    promoted one (``record["promoted_from"]``): the source's events as they were (who, when,
    status), each note marked with the source, then its status in this inventory, by whoever
    promoted it, ``promoted from <source>``.
    """
    status = str(record["approval_status"])
    origin = record.get(PROMOTED_FROM)
    if not isinstance(origin, Mapping):
        actor = str((record.get("registered_by") or {}).get("user") or "unknown")
        return [ApprovalEvent(status, actor, at, "registered")]
    source = str(origin.get("id") or "another inventory")
    carried = [
        ApprovalEvent(
            str(event["status"]),
            str(event["actor"]),
            str(event["at"]),
            f"in {source}: {event['note']}" if event.get("note") else f"in {source}",
        )
        for event in origin.get("approval_history") or ()
    ]
    promoter = str((origin.get("promoted_by") or {}).get("user") or "unknown")
    return [*carried, ApprovalEvent(status, promoter, at, f"promoted from {source}")]


@dataclass(frozen=True)
class Tombstone:
    """What the history keeps of a deleted version: who deleted it, when, and its past."""

    region: str
    group: str
    version: int
    identity: str
    sha256: str
    deleted_at: str
    deleted_by: str
    note: str | None = None
    approval_history: tuple[ApprovalEvent, ...] = ()

    @property
    def release(self) -> str:
        return release_of(self.identity)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "version": self.version,
            "region": self.region,
            "release": self.release,
            "identity": self.identity,
            "sha256": self.sha256,
            "deleted_at": self.deleted_at,
            "deleted_by": self.deleted_by,
            "note": self.note,
            "approval_history": [event.to_dict() for event in self.approval_history],
        }


@dataclass(frozen=True)
class CreateOutcome:
    """What ``create_version`` did: ``created`` is False when a concurrent writer won the race."""

    record: VersionRecord
    created: bool


class Inventory(abc.ABC):
    """A model inventory: groups of versions per region.

    Implementations must be safe to call from one thread per region at once, and
    ``create_version`` must be idempotent on ``RegionPlan.identity`` even between processes.
    """

    name: str = "inventory"

    def prepare(self, plan: RegistrationPlan) -> None:  # noqa: B027 - optional hook
        """Check the plan fits this backend and set up per-region state, before any write.

        Raises a :class:`mimsreg.engine.errors.BadInputError` for input the user must fix.
        """

    @abc.abstractmethod
    def ensure_group(self, plan: RegionPlan) -> None:
        """Create the plan's model package group in its region unless it exists (race-safe)."""

    @abc.abstractmethod
    def find_version(self, region: str, group: str, identity: str) -> VersionRecord | None:
        """The version with this identity, if one was registered."""

    @abc.abstractmethod
    def create_version(
        self,
        plan: RegionPlan,
        artifact: Path,
        payload: Path | None = None,
        progress: Progress | None = None,
    ) -> CreateOutcome:
        """Store the artifact (verified) and record the version; return the existing one if the
        identity was registered meanwhile."""

    @abc.abstractmethod
    def get_version(self, region: str, group: str, version: int) -> VersionRecord:
        """One version; :class:`mimsreg.engine.errors.NotFoundError` when absent."""

    @abc.abstractmethod
    def list_versions(
        self, region: str | None = None, group: str | None = None
    ) -> list[VersionRecord]:
        """Versions ordered by group, region and version number (summaries may omit ``record``)."""

    @abc.abstractmethod
    def set_approval(
        self,
        region: str,
        group: str,
        version: int,
        status: str,
        actor: str,
        note: str | None = None,
    ) -> VersionRecord:
        """Change a version's approval status, keeping the history and every other field."""

    def download(
        self, region: str, uri: str, destination: Path, progress: Progress | None = None
    ) -> None:
        """Copy a file a version of this inventory records (its ``artifact_uri`` or
        ``payload_uri``) to ``destination``, streaming; the caller verifies its digest."""
        raise InventoryError(f"the {self.name} inventory cannot read back the files it stores")

    def update_version(
        self,
        region: str,
        group: str,
        version: int,
        *,
        actor: str,
        tags: Mapping[str, str] | None = None,
        remove_tags: Sequence[str] = (),
        description: str | None = None,
    ) -> VersionRecord:
        """Set or remove tags of a version, or replace its description (checked beforehand by
        :func:`mimsreg.engine.inventory.lifecycle.check_tags`); every other field stays."""
        raise InventoryError(f"the {self.name} inventory cannot edit versions")

    def delete_version(
        self, region: str, group: str, version: int, actor: str, note: str | None = None
    ) -> Tombstone:
        """Remove a version, keeping a tombstone in the history; its artifacts stay until the
        next garbage collection (another version may share them). Its number is never reused."""
        raise InventoryError(f"the {self.name} inventory cannot delete versions")

    def tombstone(self, region: str, group: str, version: int) -> Tombstone | None:
        """The tombstone of ``group/version`` in ``region`` if it was deleted, else None."""
        return None

    def release_regions(self) -> list[str]:
        """Every region a release may have versions in (``approve --all-regions`` and the
        version-number check of ``register`` look there)."""
        return sorted({record.region for record in self.list_versions()})

    def compared_regions(self, registered: Sequence[str]) -> list[str]:
        """Where ``register`` compares a release's numbers after registering in ``registered``:
        every region a release may be in, unless looking there costs a request per region
        (SageMaker: ``registered`` and the default regions)."""
        return sorted(set(self.release_regions()) | set(registered))

    def versions_of(
        self, group: str, identity: str, regions: Sequence[str] | None = None
    ) -> list[VersionRecord]:
        """The versions of one release (``identity``) in every region that holds it (of
        ``regions``; default: ``release_regions()``), looked up by identity, never by number
        (numbers differ between regions)."""
        found = []
        for region in self.release_regions() if regions is None else regions:
            record = self.find_version(region, group, identity)
            if record is not None:
                found.append(record)
        return found

    def regions_of(self, group: str, version: int) -> list[str]:
        """Regions in which ``group/version`` exists (used when the user names no region)."""
        return sorted(
            {
                record.region
                for record in self.list_versions(group=group)
                if record.version == version
            }
        )

    def stored_payload_file(self, sha256: str) -> Path | None:
        """The stored sample payload with this digest, when it is a file on this machine.

        Found by digest in the backend's own content-addressed store, never by a path a record
        names (the web UI serves it). None when the backend keeps payloads elsewhere.
        """
        return None

    def collect_garbage(
        self,
        older_than: float,
        *,
        regions: Sequence[str] | None = None,
        bucket: str | None = None,
        dry_run: bool = False,
    ) -> list[Garbage]:
        """Remove what interrupted registrations left behind and no version uses, once it is
        older than ``older_than`` seconds (see :mod:`mimsreg.engine.inventory.gc`); return it.

        ``dry_run``: only say what would go. ``regions`` and ``bucket`` (a name, ``{region}`` is
        filled in) choose where a backend with per-region storage looks.
        """
        raise InventoryError(f"the {self.name} inventory has no garbage collection")

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing to close
        """Release connections."""

    def __enter__(self) -> Inventory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
