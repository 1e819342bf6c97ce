"""botocore's errors mapped to mimsreg's tree at the SageMaker backend's boundary.

One context manager (:func:`aws_errors`), as httpx maps its transport's errors: whatever botocore
raises inside becomes an :class:`~mimsreg.engine.errors.InventoryError` on one line that names the
region (and, for a connection failure, the endpoint), chained to the original. Errors already in
the tree pass through untouched, so nested calls map once. botocore is imported only when an
error is being mapped: importing the backend stays free of it.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from mimsreg.engine.errors import (
    CredentialsError,
    InventoryError,
    InventoryUnavailableError,
    MimsregError,
)

__all__ = [
    "ABSENT",
    "aws_errors",
    "error_code",
    "map_aws_error",
    "maps_aws_errors",
    "no_credentials_error",
]

# Codes S3 answers for an object that is not there (GetObject, HeadObject, conditional writes).
ABSENT = ("NoSuchKey", "404", "NotFound")

F = TypeVar("F", bound=Callable[..., Any])


def error_code(exc: BaseException) -> str:
    """An AWS error's code, else its HTTP status (a HEAD answer has no body), else ''."""
    response = getattr(exc, "response", None) or {}
    error = response.get("Error") or {}
    return str(error.get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def no_credentials_error(where: str, profiles: list[str] | None = None) -> CredentialsError:
    """The one message for "no AWS credentials", with where to set them: the profile in use
    gave none, or which profiles exist."""
    profile = os.environ.get("AWS_PROFILE")
    if profile:
        hint = f"the profile {profile!r} (AWS_PROFILE) gives none: check it in ~/.aws/config"
    elif profiles:
        hint = f"set AWS_PROFILE to one of your profiles ({', '.join(sorted(profiles))})"
    else:
        hint = "set AWS_PROFILE to a profile of ~/.aws/config, or AWS_ACCESS_KEY_ID and "
        hint += "AWS_SECRET_ACCESS_KEY"
    return CredentialsError(f"no AWS credentials found ({where}): {hint}")


def map_aws_error(exc: Exception, region: str) -> Exception:
    """The tree's error for a botocore error raised while working in ``region``; other errors
    (ours, or not botocore's) come back as they are."""
    if isinstance(exc, MimsregError):
        return exc
    try:
        from botocore import exceptions as aws
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return exc
    where = f"region {region}" if region else "no region"
    if isinstance(exc, (aws.ConnectionError, aws.HTTPClientError)):
        return InventoryUnavailableError(f"cannot reach AWS ({where}): {exc}")
    if isinstance(exc, aws.NoCredentialsError):
        return no_credentials_error(where)
    if isinstance(exc, aws.PartialCredentialsError):
        return InventoryError(f"no usable AWS credentials ({where}): {exc}")
    if isinstance(exc, (aws.ClientError, aws.BotoCoreError)):
        return InventoryError(f"{where}: {type(exc).__name__}: {exc}")
    return exc


@contextmanager
def aws_errors(region: str) -> Iterator[None]:
    """Map what botocore raises inside to the tree (see :func:`map_aws_error`)."""
    try:
        yield
    except Exception as exc:
        mapped = map_aws_error(exc, region)
        if mapped is exc:
            raise
        raise mapped from exc


def _region_of(
    signature: inspect.Signature, self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str:
    """The region a backend method works in: its ``region``, ``regions`` or ``plan`` argument,
    else the backend's default regions."""
    bound = signature.bind_partial(self, *args, **kwargs).arguments
    if isinstance(bound.get("region"), str):
        return str(bound["region"])
    if bound.get("regions"):
        return ", ".join(bound["regions"])
    region = getattr(bound.get("plan"), "region", None)
    if isinstance(region, str):
        return region
    try:
        return ", ".join(self.default_regions())
    except MimsregError:
        return ""


def maps_aws_errors(method: F) -> F:
    """Decorate a backend method: botocore's errors leave it as the tree's, naming the region."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            mapped = map_aws_error(exc, _region_of(signature, self, args, kwargs))
            if mapped is exc:
                raise
            raise mapped from exc

    return cast(F, wrapper)
