"""Where a version's artifact lives: a layer path or an object in the artifacts bucket.

Uploads that register a version through an S3 event use the key layout
``artifacts/<name>/<version>/model.onnx.zst`` next to ``artifacts/<name>/<version>/manifest.json``.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from layerserve.domain.errors import InvalidInputError
from layerserve.domain.manifest import ARTIFACT_FILE, MANIFEST_FILE

S3_SCHEME: Final = "s3://"
ARTIFACTS_PREFIX: Final = "artifacts"
_LAYER_PATH: Final = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")


class S3Uri(NamedTuple):
    bucket: str
    key: str

    @classmethod
    def parse(cls, raw: str) -> S3Uri:
        if not raw.startswith(S3_SCHEME):
            raise InvalidInputError(f"'{raw}' is not an s3:// URI")
        bucket, _, key = raw[len(S3_SCHEME) :].partition("/")
        if not bucket or not key:
            raise InvalidInputError(f"'{raw}' must name a bucket and a key (s3://bucket/key)")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.key}"


def is_s3(location: str) -> bool:
    return location.startswith(S3_SCHEME)


def layer_location(name: str, version: str) -> str:
    """The conventional layer path of a packaged version (under ``/opt`` in Lambda)."""
    return f"models/{name}/{version}"


def validate_location(raw: str, artifacts_bucket: str | None) -> str:
    """``raw`` if it is an allowed artifact location, else ``InvalidInputError``."""
    if is_s3(raw):
        uri = S3Uri.parse(raw)
        if artifacts_bucket is None or uri.bucket != artifacts_bucket:
            allowed = f"'{artifacts_bucket}'" if artifacts_bucket else "none configured"
            raise InvalidInputError(f"s3 URI '{raw}' is outside the artifacts bucket ({allowed})")
        if not uri.key.startswith(f"{ARTIFACTS_PREFIX}/") or ".." in uri.key.split("/"):
            # The functions may read artifacts/* only (least privilege): say so now.
            raise InvalidInputError(
                f"s3 URI '{raw}' must be under {ARTIFACTS_PREFIX}/ in the bucket"
            )
        return str(uri)
    if not _LAYER_PATH.fullmatch(raw) or any(part in (".", "..") for part in raw.split("/")):
        raise InvalidInputError(
            f"layer path '{raw}' must be relative, without '..', like 'models/<name>/<version>'"
        )
    return raw


def upload_keys(name: str, version: str) -> tuple[str, str]:
    """The artifact and manifest keys of a version uploaded to the artifacts bucket."""
    folder = f"{ARTIFACTS_PREFIX}/{name}/{version}"
    return f"{folder}/{ARTIFACT_FILE}", f"{folder}/{MANIFEST_FILE}"


def parse_upload_key(key: str) -> tuple[str, str] | None:
    """``(name, version)`` for an artifact or manifest key of the upload layout, else None."""
    parts = key.split("/")
    if (
        len(parts) != 4
        or parts[0] != ARTIFACTS_PREFIX
        or parts[3] not in (ARTIFACT_FILE, MANIFEST_FILE)
    ):
        return None
    return parts[1], parts[2]
