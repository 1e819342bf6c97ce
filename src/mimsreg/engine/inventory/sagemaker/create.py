"""Creating a version: artifact and documents staged, then the lookup and the create under the
group's lease (``create_lock``), the version index kept, CreateModelPackage retried here."""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from mimsreg.engine.inventory._aws_errors import maps_aws_errors
from mimsreg.engine.inventory.base import CreateOutcome, Progress, initial_history
from mimsreg.engine.inventory.create_lock import CreateLock
from mimsreg.engine.inventory.sagemaker._base import KEY_PREFIX, _history_uri, _is_transient, _now
from mimsreg.engine.inventory.sagemaker.artifacts import Artifacts
from mimsreg.engine.inventory.sagemaker.documents import Documents
from mimsreg.engine.inventory.sagemaker.request import Request
from mimsreg.engine.inventory.sagemaker.versions import Versions
from mimsreg.engine.inventory.version_index import VersionIndex
from mimsreg.engine.plan import RegionPlan, client_token


class Create(Request, Versions, Artifacts, Documents):
    """``create_version``: never a second version of an identity, whatever runs at once."""

    @maps_aws_errors
    def create_version(
        self,
        plan: RegionPlan,
        artifact: Path,
        payload: Path | None = None,
        progress: Progress | None = None,
    ) -> CreateOutcome:
        kms = plan.record.get("kms_key_id")
        documents: list[str] = []

        def write_documents() -> None:
            """The variable schema and the full record, beside the artifact."""
            documents.append(
                self._put_json(
                    plan,
                    f"{KEY_PREFIX}schemas/{plan.identity}.json",
                    plan.record["variable_schema"],
                    kms,
                )
            )
            documents.append(
                self._put_json(plan, f"{KEY_PREFIX}records/{plan.identity}.json", plan.record, kms)
            )

        # A region that must wait for another region's upload writes its documents meanwhile.
        model_data_url = self._stage_artifact(plan, artifact, kms, progress, write_documents)
        payload_url = None
        if payload is not None and plan.payload_key is not None:
            payload_plan = replace(
                plan,
                sha256=str(plan.record.get("payload_sha256")),
                size=payload.stat().st_size,
                artifact_key=plan.payload_key,
                payload_key=None,
            )
            payload_url = self._stage_artifact(payload_plan, payload, kms, None)
        if not documents:
            write_documents()
        schema_uri, record_uri = documents
        request = self._request(plan, model_data_url, schema_uri, record_uri, payload_url)
        # The lookup and the create under the group's lease: a concurrent writer of the same
        # identity waits, then finds this version (see create_lock).
        lock = CreateLock(
            self._s3(plan.region), self._bucket(plan), plan.group, plan.region, kms_key_id=kms
        )
        index = VersionIndex(self._s3(plan.region), self._bucket(plan), plan.group, kms)
        with lock:
            existing = self.find_version(plan.region, plan.group, plan.identity)
            if existing is not None:  # a concurrent writer registered it meanwhile
                return CreateOutcome(existing, False)
            if (plan.region, plan.group) not in self._complete and not index.is_complete():
                self._index_all(plan.region, plan.group, index)
            request["ClientToken"] = self._client_token(plan)
            index.creating(plan.identity, str(request["ClientToken"]))
            history = [event.to_dict() for event in initial_history(plan.record, _now())]
            self._write_json(plan.region, str(_history_uri(record_uri)), history, kms)
            arn = self._create_package(plan, request, lock)
            index.created(plan.identity, arn)
        package = self._describe(plan.region, arn)
        return CreateOutcome(self._record(plan.region, plan.group, package), True)

    def _create_package(self, plan: RegionPlan, request: dict[str, Any], lock: CreateLock) -> str:
        """CreateModelPackage, retried here rather than by botocore: before each resend the
        identity is looked up, since a create whose answer was lost (a reset connection, a
        timeout) may have happened, and a blind resend would make a second version where
        ``ClientToken`` is not honoured (moto, emulators; AWS dedupes only within its window).
        """
        sagemaker = self._sagemaker_once(plan.region)
        attempt = 0
        while True:
            attempt += 1
            lock.check_held()
            try:
                return str(sagemaker.create_model_package(**request)["ModelPackageArn"])
            except Exception as exc:
                if attempt >= self._max_attempts or not _is_transient(exc):
                    raise
            # Full jitter, as botocore's standard mode: 0..min(20, 2^attempt) * 0.5 s.
            time.sleep(random.uniform(0, min(20.0, 0.5 * 2**attempt)))
            existing = self.find_version(plan.region, plan.group, plan.identity)
            if existing is not None:
                return existing.id

    def _client_token(self, plan: RegionPlan) -> str:
        """The plan's token; after a failed creation of the same identity, a token of its own
        (SageMaker would answer the failed version's token with the failed version)."""
        with self._hints_lock:
            failed = self._failed.get((plan.region, plan.identity))
        if failed is None:
            return plan.client_token
        return client_token(hashlib.sha256(f"{plan.identity}:{failed}".encode()).hexdigest())
