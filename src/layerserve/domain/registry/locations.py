"""Where a version's artifact lives: a layer path or an object in the artifacts bucket.

Layer paths and the keys of uploaded versions follow ``domain.layout``.

In a versioned bucket the registry pins the object version it verified:
``s3://bucket/key?versionId=<id>``. Overwriting the key later then changes nothing for
the registered version, which keeps reading the bytes it was verified with.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from layerserve.domain.errors import InvalidInputError
from layerserve.domain.layout import ARTIFACTS_PREFIX, layer_location

S3_SCHEME: Final = "s3://"
_LAYER_PATH: Final = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")
VERSION_QUERY: Final = "versionId"
_VERSION_ID: Final = re.compile(r"^[A-Za-z0-9._+/=\-]{1,1024}$")
UNVERSIONED: Final = "null"
"""The version id S3 reports for objects written while versioning was off."""


class S3Uri(NamedTuple):
    bucket: str
    key: str
    version_id: str | None = None

    @classmethod
    def parse(cls, raw: str) -> S3Uri:
        if not raw.startswith(S3_SCHEME):
            raise InvalidInputError(f"'{raw}' is not an s3:// URI")
        bucket, _, rest = raw[len(S3_SCHEME) :].partition("/")
        key, query_mark, query = rest.partition("?")
        if not bucket or not key:
            raise InvalidInputError(f"'{raw}' must name a bucket and a key (s3://bucket/key)")
        if not query_mark:
            return cls(bucket, key)
        name, _, version_id = query.partition("=")
        if name != VERSION_QUERY or not _VERSION_ID.fullmatch(version_id):
            raise InvalidInputError(
                f"'{raw}': an s3:// URI takes no query but ?{VERSION_QUERY}=<object version>"
            )
        return cls(bucket, key, version_id)

    def pinned(self, version_id: str | None) -> S3Uri:
        """This object at ``version_id`` (unchanged when S3 reports no real version)."""
        if version_id is None or version_id == UNVERSIONED:
            return self
        return self._replace(version_id=version_id)

    def same_object(self, other: S3Uri) -> bool:
        """Same bucket and key, and the same version where both name one."""
        same_key = (self.bucket, self.key) == (other.bucket, other.key)
        if self.version_id is None or other.version_id is None:
            return same_key
        return same_key and self.version_id == other.version_id

    def __str__(self) -> str:
        query = f"?{VERSION_QUERY}={self.version_id}" if self.version_id else ""
        return f"{S3_SCHEME}{self.bucket}/{self.key}{query}"


def is_s3(location: str) -> bool:
    return location.startswith(S3_SCHEME)


def same_location(a: str, b: str) -> bool:
    """Equal layer paths, or the same S3 object (a pinned and an unpinned URI of one key
    match: re-registering ``s3://bucket/key`` finds the version pinned from it)."""
    if is_s3(a) and is_s3(b):
        return S3Uri.parse(a).same_object(S3Uri.parse(b))
    return a == b


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
            f"layer path '{raw}' must be relative, without '..', "
            f"like '{layer_location('<name>', '<version>')}'"
        )
    return raw
