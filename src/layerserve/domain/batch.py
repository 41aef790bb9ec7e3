"""Batch inference on uploads: key layout, input formats and object identity.

An upload ``<input prefix><model>/<file>`` runs the model's default version;
``<input prefix><model>/<version-or-alias>/<path...>`` pins a version or an alias.
Results mirror the input key under a disjoint output prefix, so writing them can
never trigger the function again::

    inputs/mlp/prod/day 1.jsonl  ->  outputs/mlp/prod/day 1.jsonl.result.jsonl
                                     outputs/mlp/prod/day 1.jsonl.summary.json
                                     outputs/mlp/prod/day 1.jsonl.error.json (on failure)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final
from urllib.parse import quote_plus, unquote_plus

from layerserve.domain.errors import InvalidInputError

RESULT_SUFFIX: Final = ".result"
SUMMARY_SUFFIX: Final = ".summary.json"
ERROR_SUFFIX: Final = ".error.json"


class InputFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"
    NPY = "npy"
    NPZ = "npz"

    @property
    def is_array(self) -> bool:
        return self in (InputFormat.NPY, InputFormat.NPZ)

    @property
    def result_extension(self) -> str:
        """Array inputs give an ``.npz``; line inputs give JSON Lines aligned with the input."""
        return "npz" if self.is_array else "jsonl"


_EXTENSIONS: Final = {
    ".jsonl": InputFormat.JSONL,
    ".ndjson": InputFormat.JSONL,
    ".csv": InputFormat.CSV,
    ".npy": InputFormat.NPY,
    ".npz": InputFormat.NPZ,
}


def input_format(key: str) -> InputFormat:
    """The format named by the key's extension (case-insensitive), or ``InvalidInputError``."""
    lowered = key.lower()
    for extension, fmt in _EXTENSIONS.items():
        if lowered.endswith(extension):
            return fmt
    known = ", ".join(_EXTENSIONS)
    raise InvalidInputError(f"unsupported input format for '{key}': use one of {known}")


def decode_event_key(raw: str) -> str:
    """S3 notifications carry keys form-encoded: ``+`` for a space, ``%XX`` for the rest."""
    return unquote_plus(raw)


def encode_event_key(key: str) -> str:
    """The inverse of :func:`decode_event_key`, as S3 writes keys into notifications."""
    return quote_plus(key, safe="/")


@dataclass(frozen=True, slots=True)
class InputKey:
    """A parsed upload key: which model (and version or alias) runs on which file."""

    key: str
    model: str
    ref: str | None
    relative: str
    """The key below the input prefix; the output keys mirror it."""


@dataclass(frozen=True, slots=True)
class BatchLayout:
    input_prefix: str = "inputs/"
    output_prefix: str = "outputs/"

    def __post_init__(self) -> None:
        for prefix in (self.input_prefix, self.output_prefix):
            if not prefix.endswith("/") or prefix == "/":
                raise InvalidInputError(f"prefix '{prefix}' must be a folder like 'inputs/'")
        if prefixes_overlap(self.input_prefix, self.output_prefix):
            raise InvalidInputError(
                f"input prefix '{self.input_prefix}' and output prefix '{self.output_prefix}' "
                "overlap: results would trigger the function again"
            )

    def parse(self, key: str) -> InputKey | None:
        """The upload named by ``key``, or ``None`` when the key is not an input file."""
        if not key.startswith(self.input_prefix) or key.endswith("/"):
            return None
        relative = key[len(self.input_prefix) :]
        parts = relative.split("/")
        if len(parts) < 2 or not all(parts[:2]):
            return None
        ref = parts[1] if len(parts) > 2 else None
        return InputKey(key, parts[0], ref, relative)

    def result_key(self, upload: InputKey, fmt: InputFormat) -> str:
        return self._mirror(upload, f"{RESULT_SUFFIX}.{fmt.result_extension}")

    def summary_key(self, upload: InputKey) -> str:
        return self._mirror(upload, SUMMARY_SUFFIX)

    def error_key(self, upload: InputKey) -> str:
        return self._mirror(upload, ERROR_SUFFIX)

    def _mirror(self, upload: InputKey, suffix: str) -> str:
        """The input's path under the output prefix; a digest when that is too long for S3."""
        key = f"{self.output_prefix}{upload.relative}{suffix}"
        if len(key.encode("utf-8")) <= MAX_KEY_BYTES:
            return key
        digest = hashlib.sha256(upload.relative.encode("utf-8")).hexdigest()
        return f"{self.output_prefix}{LONG_KEYS_FOLDER}{digest}{suffix}"

    def input_key(self, model: str, filename: str, ref: str | None = None) -> str:
        """Where to upload ``filename`` for ``model`` (and ``ref``): the CLI's side."""
        middle = f"{ref}/" if ref else ""
        return f"{self.input_prefix}{model}/{middle}{filename}"


MAX_KEY_BYTES = 1024
"""S3's limit on object keys."""
LONG_KEYS_FOLDER = "_long-keys/"


def prefixes_overlap(first: str, second: str) -> bool:
    """Whether a key could start with both prefixes (one is a prefix of the other)."""
    return first.startswith(second) or second.startswith(first)


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    """One immutable version of an uploaded object, as named by its S3 event."""

    bucket: str
    key: str
    etag: str
    size: int
    version_id: str | None = None

    @property
    def identity(self) -> str:
        """What tells this upload apart from any other upload of the same key."""
        return self.version_id or self.etag

    @property
    def routing_key(self) -> str:
        """Pins a weighted alias to one version for every delivery of this upload."""
        return f"{self.bucket}/{self.key}#{self.identity}"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def normalise_etag(raw: str) -> str:
    return raw.strip().strip('"')


def created_objects(event: Mapping[str, Any]) -> list[ObjectVersion]:
    """The object versions of an S3 ``ObjectCreated`` notification, keys decoded."""
    found = []
    for record in event.get("Records") or []:
        if record.get("eventSource") != "aws:s3":
            continue
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record.get("s3") or {}
        obj = s3.get("object") or {}
        found.append(
            ObjectVersion(
                bucket=str((s3.get("bucket") or {}).get("name", "")),
                key=decode_event_key(str(obj.get("key", ""))),
                etag=normalise_etag(str(obj.get("eTag", ""))),
                size=int(obj.get("size", 0)),
                version_id=obj.get("versionId") or None,
            )
        )
    return found


def is_s3_event(event: Mapping[str, Any]) -> bool:
    records = event.get("Records") or []
    return bool(records) and all(r.get("eventSource") == "aws:s3" for r in records)


def rows_per_batch(batch_size: int, row_bytes: int, max_batch_bytes: int) -> int:
    """Rows per model run for fixed-size rows: the batch size, capped by a byte budget."""
    if row_bytes <= 0:
        return batch_size
    return max(1, min(batch_size, max_batch_bytes // row_bytes))
