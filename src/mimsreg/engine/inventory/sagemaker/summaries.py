"""Reading an inventory at scale: versions by the page, never a call per version.

``ListModelPackages`` (100 versions a page, a whole region or one group) says which versions
exist and their approval status, and it is consistent. ``Search`` (100 whole packages a page)
brings what a listing lacks: each version's metadata (digest, owner, domain, objective), without
a ``DescribeModelPackage`` per version. Search reads an index that AWS updates eventually, so the
listing decides: a version too new for the index is described alone, one the index still holds
after its deletion is left out, and the approval status is the listing's. Without permission to
search (a role made before mimsreg searched), every version is described, as before.

10,000 versions in a region: 100 listing pages and 100 search pages, where listing the groups and
describing each version took 10,105 calls. Regions are read in parallel, one thread each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from mimsreg.engine.aws_rules import decode_metadata_value
from mimsreg.engine.inventory.base import VersionRecord
from mimsreg.engine.inventory.sagemaker._base import META, _error_code, _group_missing
from mimsreg.engine.inventory.sagemaker.versions import Versions

__all__ = ["PAGE", "SUMMARY_KEYS", "Summaries"]

PAGE = 100  # the most ListModelPackages and Search return per call
# What a summary carries of the version's record: what the UI's groups page shows per group.
SUMMARY_KEYS = {
    "model_owner": META + "owner",
    "model_registration_domain": META + "domain",
    "model_registration_objective": META + "objective",
}
# Who may read an inventory without searching it: a role made for ListModelPackages only.
_NO_SEARCH = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})


class Summaries(Versions):
    """``_summaries``: every version of some regions (or of one group), read by the page."""

    def _summaries(self, regions: Sequence[str], group: str | None) -> list[VersionRecord]:
        """The versions of ``regions`` (one thread each), ordered by group, region, version."""
        if len(regions) == 1:
            records = self._region_summaries(regions[0], group)
        else:
            with ThreadPoolExecutor(len(regions), thread_name_prefix="mimsreg-list") as pool:
                found = pool.map(lambda region: self._region_summaries(region, group), regions)
                records = [record for region_records in found for record in region_records]
        return sorted(records, key=lambda r: (r.group, r.region, r.version))

    def _region_summaries(self, region: str, group: str | None) -> list[VersionRecord]:
        listed = self._listed(region, group)
        if not listed:
            return []
        searched = self._searched(region, group)
        records = []
        for arn, summary in listed.items():
            package = searched.get(arn)
            if package is None:  # not in the search index yet, or no right to search
                package = self._describe(region, arn)
            # The listing is current; the index may still hold an older approval status.
            current = {k: summary[k] for k in ("ModelApprovalStatus", "ModelPackageStatus")}
            name = str(summary.get("ModelPackageGroupName") or group or "")
            records.append(self._summary(region, name, {**package, **current}))
        return records

    def _summary(self, region: str, group: str, package: Mapping[str, Any]) -> VersionRecord:
        stored = package.get("CustomerMetadataProperties") or {}
        record = {
            key: decode_metadata_value(str(stored[meta]))
            for key, meta in SUMMARY_KEYS.items()
            if meta in stored
        }
        return replace(self._record(region, group, package), record=record)

    def _listed(self, region: str, group: str | None) -> dict[str, dict[str, Any]]:
        """ARN → ListModelPackages summary, newest first ({} when the group does not exist)."""
        sagemaker = self._sagemaker(region)
        kwargs: dict[str, Any] = {
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": PAGE,
        }
        if group:
            kwargs["ModelPackageGroupName"] = group
        else:
            kwargs["ModelPackageType"] = "Versioned"  # versions in groups, no unversioned ones
        listed: dict[str, dict[str, Any]] = {}
        while True:
            try:
                page = sagemaker.list_model_packages(**kwargs)
            except Exception as exc:
                if _group_missing(exc):
                    return {}
                raise
            for item in page.get("ModelPackageSummaryList", []):
                listed[str(item["ModelPackageArn"])] = dict(item)
            token = page.get("NextToken")
            if not token:
                return listed
            kwargs["NextToken"] = token

    def _searched(self, region: str, group: str | None) -> dict[str, dict[str, Any]]:
        """ARN → the package as Search returns it (with its CustomerMetadataProperties)."""
        sagemaker = self._sagemaker(region)
        kwargs: dict[str, Any] = {"Resource": "ModelPackage", "MaxResults": PAGE}
        if group:
            kwargs["SearchExpression"] = {
                "Filters": [{"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": group}]
            }
        found: dict[str, dict[str, Any]] = {}
        while True:
            try:
                page = sagemaker.search(**kwargs)
            except Exception as exc:
                if _error_code(exc) in _NO_SEARCH:
                    return {}
                raise
            for result in page.get("Results", []):
                package = result.get("ModelPackage") or {}
                if package.get("ModelPackageArn"):
                    found[str(package["ModelPackageArn"])] = dict(package)
            token = page.get("NextToken")
            if not token:
                return found
            kwargs["NextToken"] = token
