"""Artifacts in S3: existence, bounded reads, streaming sha256 verification and downloads.

``S3Artifacts`` serves the registry (``ArtifactReader``: verify before a version is
ready, and pin the object version it verified) and the runtime
(``S3ArtifactSource.fetch``: a verified local copy of that version, cached).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Final, Required, TypedDict

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError as AwsClientError

from layerserve.domain.errors import (
    ArtifactIntegrityError,
    ArtifactMismatchError,
    InvalidInputError,
    ServiceUnavailableError,
)
from layerserve.domain.layout import version_dir
from layerserve.domain.registry import S3Uri
from layerserve.services.catalog import VersionRecord

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

CHUNK: Final = 1 << 20
_MISSING: Final = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchVersion"})
_MALFORMED: Final = frozenset({"InvalidArgument"})
"""What S3 answers to a malformed request, e.g. a ``versionId`` that cannot exist."""


class _Missing(Exception):
    pass


@contextmanager
def _s3(uri: str) -> Iterator[None]:
    try:
        yield
    except AwsClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "error"))
        if code in _MISSING:
            raise _Missing(uri) from exc
        if code in _MALFORMED:
            message = exc.response.get("Error", {}).get("Message", code)
            raise InvalidInputError(f"S3 refuses {uri}: {message}") from exc
        raise ServiceUnavailableError(f"cannot read {uri}: {code}") from exc
    except (BotoCoreError, S3UploadFailedError) as exc:
        raise ServiceUnavailableError(f"cannot reach S3 for {uri}: {exc}") from exc


class S3Artifacts:
    def __init__(self, client: S3Client, *, chunk_size: int = CHUNK) -> None:
        self._client = client
        self._chunk = chunk_size

    def exists(self, uri: str) -> bool:
        try:
            with _s3(uri):
                self._client.head_object(**_object(uri))
        except _Missing:
            return False
        return True

    def read_bytes(self, uri: str, limit: int) -> bytes:
        try:
            with _s3(uri):
                found = self._client.get_object(**_object(uri))
                if found["ContentLength"] > limit:
                    raise InvalidInputError(f"{uri} is larger than {limit} bytes")
                return found["Body"].read()
        except _Missing:
            raise InvalidInputError(f"{uri} does not exist") from None

    def _hash(self, uri: str) -> tuple[str, int, str]:
        """``(hex digest, size, URI of the object version read)``, read in chunks."""
        digest = hashlib.sha256()
        size = 0
        chunks, read = self._chunks(uri)
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
        return digest.hexdigest(), size, read

    def verify(self, uri: str, sha256: str, size: int) -> str:
        """Stream-hash the object; the URI of the version that matched (pinned when the
        bucket is versioned). ``ArtifactMismatchError`` if missing or different."""
        try:
            got, got_size, read = self._hash(uri)
        except _Missing:
            raise ArtifactMismatchError(f"artifact {uri} does not exist") from None
        if (got, got_size) != (sha256, size):
            raise ArtifactMismatchError(
                f"artifact {uri} does not match its manifest: sha256 {got[:12]}…, {got_size} "
                f"bytes; manifest says {sha256[:12]}…, {size} bytes"
            )
        return read

    def download(self, uri: str, dest: Path, sha256: str | None = None) -> Path:
        """Stream ``uri`` to ``dest`` (atomically, via a temporary file), checking ``sha256``."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=dest.parent, suffix=".partial")
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in self._chunks(uri)[0]:
                    digest.update(chunk)
                    out.write(chunk)
            if sha256 is not None and digest.hexdigest() != sha256:
                raise ArtifactIntegrityError(f"{uri} does not match sha256 {sha256[:12]}…")
            Path(partial).replace(dest)
        except _Missing:
            raise ArtifactIntegrityError(f"artifact {uri} does not exist") from None
        finally:
            Path(partial).unlink(missing_ok=True)
        return dest

    def upload(self, path: Path, uri: str) -> None:
        bucket, key, _ = S3Uri.parse(uri)
        with _s3(uri):
            self._client.upload_file(str(path), bucket, key)

    def _chunks(self, uri: str) -> tuple[Iterator[bytes], str]:
        """The object's bytes in chunks, and the URI of the version being read."""
        with _s3(uri):
            found = self._client.get_object(**_object(uri))
        read = str(S3Uri.parse(uri).pinned(found.get("VersionId")))
        return _guarded(uri, found["Body"].iter_chunks(self._chunk)), read


class _Object(TypedDict, total=False):
    Bucket: Required[str]
    Key: Required[str]
    VersionId: str


def _object(uri: str) -> _Object:
    """``Bucket``, ``Key`` and, for a pinned URI, ``VersionId`` of an S3 call."""
    parsed = S3Uri.parse(uri)
    where: _Object = {"Bucket": parsed.bucket, "Key": parsed.key}
    if parsed.version_id is not None:
        where["VersionId"] = parsed.version_id
    return where


def _guarded(uri: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
    with _s3(uri):
        yield from chunks


class S3ArtifactSource:
    """The runtime's ``ArtifactSource`` for ``s3://`` versions: verified copies in ``cache_dir``."""

    def __init__(self, artifacts: S3Artifacts, cache_dir: Path) -> None:
        self._artifacts = artifacts
        self._cache = cache_dir

    def fetch(self, record: VersionRecord) -> Path:
        S3Uri.parse(record.location)
        sha256 = record.manifest.artifact.sha256
        target = version_dir(self._cache, record.model, record.version) / f"{sha256}.onnx.zst"
        if target.is_file():
            return target
        return self._artifacts.download(record.location, target, sha256)
