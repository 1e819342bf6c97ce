"""The preflight: every region's bucket exists and is in that region, before anything is written."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mimsreg.engine.errors import BadInputError
from mimsreg.engine.inventory._aws_errors import maps_aws_errors
from mimsreg.engine.inventory.sagemaker._base import SageMakerBase, _bucket_region, _error_code
from mimsreg.engine.plan import RegistrationPlan


class Buckets(SageMakerBase):
    """``prepare``: the plan's buckets checked (HeadBucket) in parallel, all problems at once."""

    @maps_aws_errors
    def prepare(self, plan: RegistrationPlan) -> None:
        """Check every region has a bucket, before any region writes anything.

        Clients are made later, by each region's thread when it first needs one.
        """
        for region in plan.regions:
            plan.spec.require_bucket(region.region)
        self.check_credentials(", ".join(r.region for r in plan.regions))
        with self._lock:
            self._planned.update(r.region for r in plan.regions)
            for region_plan in plan.regions:
                self._buckets[region_plan.region] = self._bucket(region_plan)
                kms = region_plan.record.get("kms_key_id")
                self._kms_keys[region_plan.region] = str(kms) if kms else None
        targets = sorted({(r.region, self._bucket(r)) for r in plan.regions})
        if len(targets) == 1:
            problems = [self._bucket_problem(*targets[0])]
        else:
            with ThreadPoolExecutor(len(targets), thread_name_prefix="mimsreg-bucket") as pool:
                problems = list(pool.map(lambda target: self._bucket_problem(*target), targets))
        found = [problem for problem in problems if problem]
        if found:
            raise BadInputError("\n".join(found))

    def _bucket_problem(self, region: str, bucket: str) -> str | None:
        """Why ``bucket`` cannot hold ``region``'s artifacts (absent, or in another region:
        ``ModelDataUrl`` must be in the package's region), or None. HeadBucket answers with the
        bucket's region, also when botocore followed S3's redirect to it."""
        try:
            response: Mapping[str, Any] = self._s3(region).head_bucket(Bucket=bucket)
        except Exception as exc:
            response = getattr(exc, "response", None) or {}
            if _bucket_region(response) is None:
                if _error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                    return f"bucket: s3://{bucket} (for {region}) does not exist"
                if _error_code(exc) in ("403", "AccessDenied", "Forbidden"):
                    return (
                        f"bucket: s3://{bucket} (for {region}) cannot be reached with these "
                        "credentials (403): check the bucket name and s3:ListBucket on it"
                    )
                raise
        actual = _bucket_region(response)
        if actual is not None and actual != region:
            return (
                f"bucket: s3://{bucket} is in {actual}, not in {region}: a model version must "
                f"keep its artifacts in its own region; give {region} a bucket there (a mapping "
                "region → bucket, or a name with {region})"
            )
        return None
