"""botocore's errors become the tree's at the SageMaker backend's boundary."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from mimsreg.engine.errors import (
    BadInputError,
    InventoryError,
    InventoryUnavailableError,
    NotFoundError,
)
from mimsreg.engine.inventory._aws_errors import aws_errors, map_aws_error, maps_aws_errors


def test_a_connection_failure_names_the_endpoint_and_region() -> None:
    error = map_aws_error(EndpointConnectionError(endpoint_url="http://127.0.0.1:9/"), "eu-west-1")
    assert isinstance(error, InventoryUnavailableError)
    assert str(error) == (
        "cannot reach AWS (region eu-west-1): Could not connect to the endpoint URL: "
        '"http://127.0.0.1:9/"'
    )


def test_a_timeout_is_unavailability_too() -> None:
    error = map_aws_error(ReadTimeoutError(endpoint_url="http://h/"), "us-east-1")
    assert isinstance(error, InventoryUnavailableError)


def test_a_client_error_keeps_its_code_and_message() -> None:
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject")
    error = map_aws_error(denied, "us-east-1")
    assert type(error) is InventoryError
    assert "region us-east-1: ClientError:" in str(error)
    assert "AccessDenied" in str(error)


def test_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials is bad input (exit 2) saying where to set them (issue 19)."""
    from mimsreg.engine.errors import CredentialsError, exit_code

    monkeypatch.delenv("AWS_PROFILE", raising=False)
    error = map_aws_error(NoCredentialsError(), "us-east-1")
    assert type(error) is CredentialsError
    assert isinstance(error, InventoryError)
    assert exit_code(error) == 2
    assert str(error) == (
        "no AWS credentials found (region us-east-1): set AWS_PROFILE to a profile of "
        "~/.aws/config, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )


def test_errors_of_the_tree_and_foreign_ones_pass_through() -> None:
    ours = NotFoundError("G/1")
    assert map_aws_error(ours, "r") is ours
    other = KeyError("x")
    assert map_aws_error(other, "r") is other
    assert "no region" in str(map_aws_error(NoCredentialsError(), ""))


def test_the_context_manager_chains_the_cause() -> None:
    cause = EndpointConnectionError(endpoint_url="http://127.0.0.1:9/")
    with pytest.raises(InventoryUnavailableError) as caught, aws_errors("eu-west-1"):
        raise cause
    assert caught.value.__cause__ is cause
    with pytest.raises(KeyError), aws_errors("eu-west-1"):
        raise KeyError("x")


class Backend:
    """The decorator finds the region in the arguments, else asks the backend."""

    def __init__(self, regions: list[str] | None) -> None:
        self.regions = regions

    def default_regions(self) -> list[str]:
        if self.regions is None:
            raise BadInputError("no AWS region")
        return self.regions

    @maps_aws_errors
    def by_region(self, region: str, fail: BaseException) -> None:
        raise fail

    @maps_aws_errors
    def by_regions(self, fail: BaseException, regions: list[str] | None = None) -> None:
        raise fail

    @maps_aws_errors
    def by_plan(self, plan: Any, fail: BaseException) -> None:
        raise fail

    @maps_aws_errors
    def by_default(self, fail: BaseException) -> None:
        raise fail


def unreachable() -> EndpointConnectionError:
    return EndpointConnectionError(endpoint_url="http://127.0.0.1:9/")


def test_the_decorator_names_the_region_it_worked_in() -> None:
    class Plan:
        region = "ap-south-1"

    cases = [
        (lambda b: b.by_region("eu-west-1", unreachable()), "region eu-west-1"),
        (lambda b: b.by_regions(unreachable(), regions=["a-1", "b-2"]), "region a-1, b-2"),
        (lambda b: b.by_plan(Plan(), unreachable()), "region ap-south-1"),
        (lambda b: b.by_default(unreachable()), "region us-east-1"),
    ]
    for call, where in cases:
        with pytest.raises(InventoryUnavailableError, match=where):
            call(Backend(["us-east-1"]))
    with pytest.raises(InventoryUnavailableError, match=r"\(no region\)"):
        Backend(None).by_default(unreachable())
    with pytest.raises(KeyError):
        Backend(["r"]).by_default(KeyError("x"))
