"""Versions as the inventory gives them: one with its record and approval history, every
version of a region or group, the regions holding one; approval decisions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mimsreg.engine.errors import NotFoundError
from mimsreg.engine.inventory._aws_errors import maps_aws_errors
from mimsreg.engine.inventory.base import ApprovalEvent, VersionRecord
from mimsreg.engine.inventory.sagemaker._base import _error_message, _history_uri, _now
from mimsreg.engine.inventory.sagemaker.documents import Documents, approval_description
from mimsreg.engine.inventory.sagemaker.summaries import Summaries


class Listing(Summaries, Documents):
    """``get_version``, ``list_versions``, ``set_approval``, ``regions_of``."""

    @maps_aws_errors
    def get_version(self, region: str, group: str, version: int) -> VersionRecord:
        for arn in self._package_arns(region, group):
            if arn.rsplit("/", 1)[-1] == str(version):
                package = self._describe(region, arn)
                summary = self._record(region, group, package)
                record: dict[str, Any] = {}
                uri = summary.record.get("record_uri")
                if uri:
                    try:
                        record = dict(self._get_json(region, str(uri)))
                    except Exception as exc:  # the registry entry stands on its own
                        record = {"record_unavailable": f"{uri}: {_error_message(exc)}"}
                history = self._stored_history(region, summary.record.get("record_uri"))
                history = history or self._history(package)
                return replace(
                    summary,
                    record={**record, "record_uri": uri} if uri else record,
                    approval_history=history,
                )
        raise NotFoundError(f"{group}/{version} is not in SageMaker Model Registry in {region}")

    @maps_aws_errors
    def list_versions(
        self, region: str | None = None, group: str | None = None
    ) -> list[VersionRecord]:
        # By the page, regions in parallel: see ``summaries``.
        return self._summaries([region] if region else self.default_regions(), group)

    @maps_aws_errors
    def set_approval(
        self,
        region: str,
        group: str,
        version: int,
        status: str,
        actor: str,
        note: str | None = None,
    ) -> VersionRecord:
        current = self.get_version(region, group, version)
        event = ApprovalEvent(status, actor, _now(), note)
        history_uri = _history_uri(current.record.get("record_uri"))
        if history_uri is None:  # no history beside it (not registered by mimsreg)
            # Only the approval fields: AWS leaves every other field of the package as it is.
            self._sagemaker(region).update_model_package(
                ModelPackageArn=current.id,
                ModelApprovalStatus=status,  # type: ignore[arg-type]
                ApprovalDescription=approval_description(event),
            )
        else:
            kms = current.record.get("kms_key_id")
            self._record_approval(
                region,
                current.id,
                history_uri,
                event,
                kms_key_id=str(kms) if kms else None,
                initial=lambda: current.approval_history,
            )
        return self.get_version(region, group, version)

    @maps_aws_errors
    def regions_of(self, group: str, version: int) -> list[str]:
        found = []
        for region in self.default_regions():
            if any(a.rsplit("/", 1)[-1] == str(version) for a in self._package_arns(region, group)):
                found.append(region)
        return sorted(found)
