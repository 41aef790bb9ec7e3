"""``layerserve batch FILE --model NAME``: upload, wait for the result, download it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError as AwsClientError
from rich.console import Console

from layerserve.cli.failures import describe, fail
from layerserve.domain.batch import BatchLayout, InputKey, input_format
from layerserve.domain.errors import InvalidInputError

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

console = Console(stderr=True)
DEFAULT_BUCKET = "layerserve-uploads"


def batch(
    file: Annotated[Path, typer.Argument(help="A .jsonl/.ndjson, .csv, .npy or .npz file.")],
    model: Annotated[str, typer.Option(help="Model to run.")],
    version: Annotated[
        str | None, typer.Option(help="Version or alias (default: the model's default).")
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option(help="S3 endpoint (default: AWS_ENDPOINT_URL, else AWS).")
    ] = None,
    bucket: Annotated[
        str | None, typer.Option(help="Uploads bucket (default: LAYERSERVE_UPLOADS_BUCKET).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Where to save the result.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the result.")] = 900.0,
    input_prefix: Annotated[str, typer.Option(help="The function's input prefix.")] = "inputs/",
    output_prefix: Annotated[str, typer.Option(help="The function's output prefix.")] = "outputs/",
) -> None:
    """Run a batch job on FILE through the uploads bucket and save its result."""
    if not file.is_file():
        fail(f"{file} is not a file")
    try:
        fmt = input_format(file.name)
        layout = BatchLayout(input_prefix, output_prefix)
    except InvalidInputError as exc:
        fail(exc.message)
    client = _client(endpoint_url)
    name = bucket or os.environ.get("LAYERSERVE_UPLOADS_BUCKET", DEFAULT_BUCKET)
    key = layout.input_key(model, file.name, version)
    upload = layout.parse(key)
    if upload is None:
        fail(f"'{key}' is not a valid input key")
    with _s3_step(f"cannot upload {file.name} to s3://{name}/{key}"):
        identity = _upload(client, name, key, file)
    console.print(f"uploaded s3://{name}/{key}; waiting for the result…")
    outcome = _wait(client, name, layout, upload, identity, timeout)
    if outcome.get("status") != "succeeded":
        fail(f"the job failed: {outcome.get('error', 'unknown error')}")
    result_key = layout.result_key(upload, fmt)
    target = out or file.with_name(f"{file.name}.result.{fmt.result_extension}")
    with _s3_step(f"cannot download s3://{name}/{result_key}"):
        client.download_file(name, result_key, str(target))
    console.print(
        f"{outcome['records']} records, {outcome['errors']} errors, model "
        f"{outcome['model_name']} version {outcome['model_version']} -> {target}"
    )


@contextmanager
def _s3_step(what: str) -> Iterator[None]:
    """One line naming the step, the bucket and key, and what S3 said."""
    try:
        yield
    except (AwsClientError, BotoCoreError, Boto3Error) as exc:
        hint = " (pass --bucket or set LAYERSERVE_UPLOADS_BUCKET)" if _no_bucket(exc) else ""
        fail(f"{what}: {describe(exc)}{hint}")


def _no_bucket(exc: Exception) -> bool:
    cause = exc if isinstance(exc, AwsClientError) else exc.__context__
    return isinstance(cause, AwsClientError) and cause.response.get("Error", {}).get("Code") in (
        "NoSuchBucket",
        "404",
    )


def _client(endpoint_url: str | None) -> S3Client:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL"))


def _upload(client: S3Client, bucket: str, key: str, file: Path) -> tuple[str | None, str]:
    """Upload (multipart when large) and return what tells this upload apart."""
    client.upload_file(str(file), bucket, key)
    head = client.head_object(Bucket=bucket, Key=key)
    return head.get("VersionId"), head["ETag"].strip('"')


def _wait(
    client: S3Client,
    bucket: str,
    layout: BatchLayout,
    upload: InputKey,
    identity: tuple[str | None, str],
    timeout: float,
) -> dict[str, Any]:
    """The summary or error object written for *this* upload (older ones are skipped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for key in (layout.summary_key(upload), layout.error_key(upload)):
            with _s3_step(f"cannot read s3://{bucket}/{key}"):
                document = _document(client, bucket, key)
            if document is not None and _is_for(document, identity):
                return document
        time.sleep(0.5)
    typer.echo(f"error: no result after {timeout:.0f} s", err=True)
    raise typer.Exit(2)


def _document(client: S3Client, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except AwsClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    document = orjson.loads(body)
    return document if isinstance(document, dict) else None


def _is_for(document: dict[str, Any], identity: tuple[str | None, str]) -> bool:
    source = document.get("source") or {}
    version_id, etag = identity
    if version_id and version_id != "null":
        return bool(source.get("version_id") == version_id)
    return bool(source.get("etag") == etag)
