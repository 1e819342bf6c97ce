"""``SageMakerInventory``: the backend's parts put together over their one base."""

from __future__ import annotations

from mimsreg.engine.inventory.sagemaker.buckets import Buckets
from mimsreg.engine.inventory.sagemaker.collect import Collect
from mimsreg.engine.inventory.sagemaker.create import Create
from mimsreg.engine.inventory.sagemaker.download import Download
from mimsreg.engine.inventory.sagemaker.lifecycle import Lifecycle


class SageMakerInventory(Lifecycle, Collect, Create, Buckets, Download):
    """SageMaker Model Registry + S3, one pair of clients per region.

    ``session``: a ``boto3.Session`` (default: a new one honouring profiles, ``AWS_REGION`` and
    ``AWS_ENDPOINT_URL``); ``clients``: ready clients per region, which take precedence;
    ``spec``: where buckets come from when a plan is not at hand (``list``, ``show``);
    ``regions``: regions to look in when a command names none.

    Its parts (mixins over ``SageMakerBase``, each over the parts it uses): ``Buckets`` (the
    preflight), ``Artifacts`` (staging, verification), ``Documents`` (records, schemas, approval
    histories), ``Groups``, ``Versions`` (lookups), ``Request`` and ``Create`` (creating under the
    lease), ``Listing`` (reads, approval), ``Collect`` (garbage collection), ``Download``
    (reading a version's files back, for ``promote``), ``Lifecycle`` (tags, description,
    deletion, a release in every region).
    """
