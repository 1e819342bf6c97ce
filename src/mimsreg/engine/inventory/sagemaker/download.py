"""Reading back what a version stores in S3 (its artifact, its payload), for ``mimsreg promote``."""

from __future__ import annotations

from pathlib import Path

from mimsreg.engine.errors import InventoryError
from mimsreg.engine.inventory._aws_errors import maps_aws_errors
from mimsreg.engine.inventory.base import Progress
from mimsreg.engine.inventory.sagemaker._base import (
    MULTIPART_CHUNK,
    SageMakerBase,
    _parse_s3_uri,
)


class Download(SageMakerBase):
    """``download``: an object of the region's bucket to a local file, in parts for large ones."""

    @maps_aws_errors
    def download(
        self, region: str, uri: str, destination: Path, progress: Progress | None = None
    ) -> None:
        if not uri.startswith("s3://"):
            raise InventoryError(f"{uri!r} is not an S3 object of the SageMaker inventory")
        from boto3.s3.transfer import TransferConfig

        bucket, key = _parse_s3_uri(uri)
        config = TransferConfig(
            multipart_threshold=MULTIPART_CHUNK,
            multipart_chunksize=MULTIPART_CHUNK,
            max_concurrency=self._max_concurrency,
        )
        self._s3(region).download_file(
            bucket, key, str(destination), Callback=progress, Config=config
        )
