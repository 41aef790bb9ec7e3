"""Uploaded inputs and batch results in S3: streamed ranged reads, multipart writes.

Reads pin the exact object version of the event (``VersionId``, or ``IfMatch`` on the
ETag when the bucket is not versioned), so a job never mixes two uploads of one key.
A missing or replaced input is the caller's problem (``NotFoundError``, an error
object); every other S3 failure is ``ServiceUnavailableError`` and gets retried.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError as AwsClientError

from layerserve.domain.batch import ObjectVersion
from layerserve.domain.errors import NotFoundError, ServiceUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef

CHUNK: Final = 1 << 20
_GONE: Final = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})
_CHANGED: Final = frozenset({"PreconditionFailed", "412"})
_EMPTY_RANGE: Final = frozenset({"InvalidRange", "416"})


def _code(exc: AwsClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "error"))


@contextmanager
def _reading(uri: str) -> Iterator[None]:
    try:
        yield
    except AwsClientError as exc:
        code = _code(exc)
        if code in _GONE:
            raise NotFoundError(f"input {uri} no longer exists") from exc
        if code in _CHANGED:
            raise NotFoundError(f"input {uri} was replaced while it was processed") from exc
        raise ServiceUnavailableError(f"cannot read {uri}: {code}") from exc
    except BotoCoreError as exc:
        raise ServiceUnavailableError(f"cannot reach S3 for {uri}: {exc}") from exc


@contextmanager
def _writing(uri: str) -> Iterator[None]:
    try:
        yield
    except AwsClientError as exc:
        raise ServiceUnavailableError(f"cannot write {uri}: {_code(exc)}") from exc
    except BotoCoreError as exc:
        raise ServiceUnavailableError(f"cannot reach S3 for {uri}: {exc}") from exc


class S3Objects:
    """``ObjectReader`` and ``ObjectWriter`` over an injected S3 client."""

    def __init__(self, client: S3Client, *, chunk_size: int = CHUNK) -> None:
        self._client = client
        self._chunk = chunk_size

    # --- reading ----------------------------------------------------------------------------
    def stream(self, source: ObjectVersion, start: int, end: int | None = None) -> Iterator[bytes]:
        if end is not None and end <= start:
            return
        stop = "" if end is None else str(end - 1)
        with _reading(source.uri):
            try:
                found = self._get(source, f"bytes={start}-{stop}")
            except AwsClientError as exc:
                if _code(exc) in _EMPTY_RANGE:
                    return
                raise
            body = found["Body"]
            try:
                yield from body.iter_chunks(self._chunk)
            finally:
                body.close()

    def _get(self, source: ObjectVersion, byte_range: str) -> GetObjectOutputTypeDef:
        """Exactly the version the event named: by version id, else by ETag."""
        if source.version_id:
            return self._client.get_object(
                Bucket=source.bucket, Key=source.key, Range=byte_range, VersionId=source.version_id
            )
        return self._client.get_object(
            Bucket=source.bucket, Key=source.key, Range=byte_range, IfMatch=f'"{source.etag}"'
        )

    def read(self, source: ObjectVersion, start: int, end: int) -> bytes:
        return b"".join(self.stream(source, start, end))

    # --- writing ----------------------------------------------------------------------------
    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        with _writing(f"s3://{bucket}/{key}"):
            self._client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    def create_upload(self, bucket: str, key: str, content_type: str) -> str:
        with _writing(f"s3://{bucket}/{key}"):
            created = self._client.create_multipart_upload(
                Bucket=bucket, Key=key, ContentType=content_type
            )
        return created["UploadId"]

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int, body: bytes) -> None:
        with _writing(f"s3://{bucket}/{key}"):
            self._client.upload_part(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
            )

    def complete_upload(self, bucket: str, key: str, upload_id: str, parts: int) -> None:
        uri = f"s3://{bucket}/{key}"
        with _writing(uri):
            etags = self._part_etags(bucket, key, upload_id)
            missing = [n for n in range(1, parts + 1) if n not in etags]
            if missing:
                raise ServiceUnavailableError(f"upload of {uri} lacks part(s) {missing[:5]}")
            chosen: list[Any] = [{"PartNumber": n, "ETag": etags[n]} for n in range(1, parts + 1)]
            self._client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": chosen}
            )

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        with _writing(f"s3://{bucket}/{key}"):
            try:
                self._client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            except AwsClientError as exc:
                if _code(exc) != "NoSuchUpload":
                    raise

    def _part_etags(self, bucket: str, key: str, upload_id: str) -> dict[int, str]:
        etags: dict[int, str] = {}
        marker = 0
        while True:
            page = self._client.list_parts(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
            )
            for part in page.get("Parts", []):
                etags[part["PartNumber"]] = part["ETag"]
            if not page.get("IsTruncated"):
                return etags
            marker = page["NextPartNumberMarker"]
