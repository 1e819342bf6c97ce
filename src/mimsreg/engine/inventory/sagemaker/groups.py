"""Model package groups: get-or-create (a concurrent creator's "already exists" is success),
sparing the describe when a lookup just saw whether the group exists."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mimsreg.engine.aws_rules import entity_description
from mimsreg.engine.inventory._aws_errors import maps_aws_errors
from mimsreg.engine.inventory.sagemaker._base import (
    SageMakerBase,
    _error_code,
    _error_message,
    _group_missing,
)
from mimsreg.engine.plan import RegionPlan

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

GROUP_HINT_SECONDS = 60.0  # how long what a lookup saw of a group may stand in for a describe


class Groups(SageMakerBase):
    """``ensure_group``, the group hints lookups leave, and the names of every group."""

    def _group_hint(self, region: str, group: str) -> bool | None:
        """Whether a lookup just now saw the group exist (True) or not (False); None: unknown."""
        with self._hints_lock:
            seen = self._group_hints.pop((region, group), None)
        if seen is None or time.monotonic() - seen[0] > GROUP_HINT_SECONDS:
            return None
        return seen[1]

    def _note_group(self, region: str, group: str, exists: bool) -> None:
        with self._hints_lock:
            self._group_hints[(region, group)] = (time.monotonic(), exists)

    @maps_aws_errors
    def ensure_group(self, plan: RegionPlan) -> None:
        sagemaker = self._sagemaker(plan.region)
        # The executor looks the version up first, which already tells whether the group exists:
        # use that rather than a DescribeModelPackageGroup round trip. Only definite answers
        # count (versions listed, or "does not exist"); an empty list says nothing.
        hint = self._group_hint(plan.region, plan.group)
        if hint is True:
            return
        if hint is None:
            try:
                sagemaker.describe_model_package_group(ModelPackageGroupName=plan.group)
                return
            except Exception as exc:
                if not _group_missing(exc):
                    raise
        description = (
            f"{plan.record.get('model_registration_domain')} / "
            f"{plan.record.get('model_registration_objective')} (mimsreg)"
        )
        tags: list[Any] = [
            {"Key": k, "Value": v} for k, v in sorted((plan.record.get("tags") or {}).items())
        ]
        try:
            sagemaker.create_model_package_group(
                ModelPackageGroupName=plan.group,
                ModelPackageGroupDescription=entity_description(description),
                Tags=[*tags, {"Key": "mimsreg:managed", "Value": "true"}],
            )
        except Exception as exc:
            # Another writer created it between our describe and create: that is success.
            if _error_code(exc) == "ValidationException" and "already exists" in _error_message(
                exc
            ):
                return
            raise

    @staticmethod
    def _group_names(sagemaker: SageMakerClient) -> list[str]:
        names: list[str] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = sagemaker.list_model_package_groups(**kwargs)
            names.extend(g["ModelPackageGroupName"] for g in page["ModelPackageGroupSummaryList"])
            token = page.get("NextToken")
            if not token:
                return names
            kwargs["NextToken"] = token
