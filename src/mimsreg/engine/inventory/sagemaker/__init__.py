"""SageMaker Model Registry inventory: artifacts in S3, model package groups and versions.

Portable (Python 3.9, standard library and boto3): the pipeline step's processing job runs it.

Per target region: the artifact is staged in that region's bucket under a content-addressed key
(uploaded once with per-part SHA-256 checksums that S3 verifies, then copied server side to the
other regions), verified at every destination; the full record and the variable schema are stored
beside it; the group is created unless it exists (a concurrent creator's "already exists" is
success); the version is created with a ``ClientToken`` derived from the identity, after a lookup
of the identity among the group's versions so re-runs never duplicate.

boto3 clients are made from one session (sessions are not thread-safe: under a lock), per region
and service, by the region's thread when it first needs one, or passed in (``clients=``) by tests
and callers that own them.

Latency (see docs/benchmarks.md): regions run in parallel and a region that waits for another
region's upload writes its record and schema meanwhile; copies under the multipart threshold are
one CopyObject; a lookup that listed the group's versions spares ``ensure_group`` its describe.
"""

from __future__ import annotations

from mimsreg.engine.inventory.sagemaker._base import (
    DEFAULT_MAX_ATTEMPTS as DEFAULT_MAX_ATTEMPTS,
)
from mimsreg.engine.inventory.sagemaker._base import KEY_PREFIX, RegionClients, s3_uri
from mimsreg.engine.inventory.sagemaker._base import MAX_CONCURRENCY as MAX_CONCURRENCY
from mimsreg.engine.inventory.sagemaker._base import META as META
from mimsreg.engine.inventory.sagemaker._base import MULTIPART_CHUNK as MULTIPART_CHUNK
from mimsreg.engine.inventory.sagemaker._base import _is_transient as _is_transient
from mimsreg.engine.inventory.sagemaker.backend import SageMakerInventory
from mimsreg.engine.inventory.sagemaker.groups import GROUP_HINT_SECONDS as GROUP_HINT_SECONDS

__all__ = ["KEY_PREFIX", "RegionClients", "SageMakerInventory", "s3_uri"]
