"""What each stock scikit-learn processing image offers the registration job: Python and boto3.

The job runs ``python3 mimsreg-runtime.pyz`` on the image's own interpreter and boto3, so an image
whose Python is older than 3.9 cannot run it at all, and the image's botocore decides which request
members mimsreg must send another way (``mimsreg.engine.aws_compat``). Facts from the container
repository aws/sagemaker-scikit-learn-container (each version's branch: ``requirements.txt`` and
``docker/<version>/base/Dockerfile.cpu``); the table with its sources is in ``docs/pipeline.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mimsreg.errors import PlanError

__all__ = ["PROCESSING_IMAGES", "ProcessingImage", "check_processing_version"]

RUNTIME_MIN_PYTHON = (3, 9)


@dataclass(frozen=True)
class ProcessingImage:
    """One scikit-learn processing image version."""

    version: str
    python: str
    boto3: str
    botocore: str

    @property
    def runs_the_job(self) -> bool:
        major, minor = (int(part) for part in self.python.split(".")[:2])
        return (major, minor) >= RUNTIME_MIN_PYTHON


_PINNED = ("1.28.57", ">=1.31.57,<1.32.0")

PROCESSING_IMAGES: dict[str, ProcessingImage] = {
    image.version: image
    for image in (
        ProcessingImage("0.20.0", "3.7", "unpinned", "unpinned"),
        ProcessingImage("0.23-1", "3.7", "1.24.17", "1.27.18"),
        ProcessingImage("1.0-1", "3.8", *_PINNED),
        ProcessingImage("1.2-1", "3.9", *_PINNED),
        ProcessingImage("1.4-2", "3.10", *_PINNED),
        ProcessingImage("1.4-2-py312", "3.12", *_PINNED),
    )
}


def check_processing_version(version: str) -> None:
    """Refuse a known scikit-learn processing image whose Python cannot run the job; versions
    not in the table are left to the SageMaker SDK to resolve."""
    image = PROCESSING_IMAGES.get(version)
    if image is None or image.runs_the_job:
        return
    runnable = ", ".join(v for v, i in PROCESSING_IMAGES.items() if i.runs_the_job)
    raise PlanError(
        f"processing_framework_version: the scikit-learn {version!r} processing image has "
        f"Python {image.python}; the registration job needs Python 3.9 or newer: use one of "
        f"{runnable}, or pass processing_image_uri=..."
    )
