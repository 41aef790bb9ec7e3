"""One line for each known family of failure (``layerserve.cli.failures.describe``)."""

from __future__ import annotations

import urllib.error

import httpx
import pytest
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError, EndpointConnectionError

from layerserve.cli.extra import CLI_EXTRA_HINT
from layerserve.cli.failures import CallError, describe
from layerserve.domain.errors import InvalidInputError


def _no_bucket() -> ClientError:
    error = {"Error": {"Code": "NoSuchBucket", "Message": "The specified bucket does not exist"}}
    return ClientError(error, "PutObject")  # type: ignore[arg-type]


def _upload_failed() -> S3UploadFailedError:
    try:
        try:
            raise _no_bucket()
        except ClientError as exc:
            raise S3UploadFailedError("Failed to upload a to b/k: An error occurred") from exc
    except S3UploadFailedError as exc:
        return exc


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (InvalidInputError("bad\ninput"), "bad input"),
        (CallError(409, "conflict"), "conflict (HTTP 409)"),
        (CallError(0, "cannot reach http://x"), "cannot reach http://x: is the stack running"),
        (EndpointConnectionError(endpoint_url="http://e"), "cannot reach http://e"),
        (_no_bucket(), "AWS PutObject failed: NoSuchBucket: The specified bucket does not exist"),
        (_upload_failed(), "AWS PutObject failed: NoSuchBucket"),
        (FileNotFoundError(2, "No such file or directory", "/x"), "No such file or directory: /x"),
        (urllib.error.URLError("refused"), "refused"),
        (httpx.ConnectError("refused"), "HTTP request failed: refused"),
        (ModuleNotFoundError("no typer", name="typer"), CLI_EXTRA_HINT),
        (ModuleNotFoundError("no foo", name="foo"), "cannot import foo"),
    ],
)
def test_each_family_is_one_line(exc: BaseException, expected: str) -> None:
    message = describe(exc)
    assert expected in message and "\n" not in message
