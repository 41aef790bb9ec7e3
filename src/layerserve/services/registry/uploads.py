"""Register versions from artifact uploads: S3 ``ObjectCreated`` events on the artifacts bucket.

A version folder ``artifacts/<name>/<version>/`` (``domain.layout.upload_keys``) holds
``model.onnx.zst`` and ``manifest.json``. Whichever object arrives second completes the
registration; a manifest alone records the version as ``registered``; an artifact alone
waits.
Duplicate events are harmless because registration is idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote_plus

from pydantic import ValidationError

from layerserve.domain.errors import ArtifactMismatchError, InvalidInputError
from layerserve.domain.layout import parse_upload_key, upload_keys
from layerserve.domain.manifest import Manifest
from layerserve.domain.registry import S3Uri
from layerserve.services.registry.commands import RegisterVersion
from layerserve.services.registry.ports import ArtifactReader
from layerserve.services.registry.versions import VersionUseCases

MANIFEST_LIMIT: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class UploadedObject:
    bucket: str
    key: str
    uploader: str = "unknown"


@dataclass(frozen=True, slots=True)
class UploadOutcome:
    bucket: str
    key: str
    result: str
    """``ignored``, ``waiting``, ``registered``, ``ready`` or ``failed``."""
    detail: str = ""


def uploaded_objects(event: Mapping[str, Any]) -> list[UploadedObject]:
    """The objects of an S3 event notification (keys arrive URL-encoded, '+' for space)."""
    objects = []
    for record in event.get("Records") or []:
        s3 = record.get("s3", {})
        key = unquote_plus(s3.get("object", {}).get("key", ""))
        uploader = record.get("userIdentity", {}).get("principalId", "unknown")
        objects.append(UploadedObject(s3.get("bucket", {}).get("name", ""), key, uploader))
    return objects


def is_s3_event(event: Mapping[str, Any]) -> bool:
    records = event.get("Records") or []
    return bool(records) and all(r.get("eventSource") == "aws:s3" for r in records)


class ArtifactUploads:
    def __init__(self, versions: VersionUseCases, artifacts: ArtifactReader, bucket: str) -> None:
        self._versions = versions
        self._artifacts = artifacts
        self._bucket = bucket

    def handle(self, upload: UploadedObject) -> UploadOutcome:
        parsed = parse_upload_key(upload.key)
        if upload.bucket != self._bucket or parsed is None:
            return self._outcome(upload, "ignored", "not a version upload in the artifacts bucket")
        artifact_key, manifest_key = upload_keys(*parsed)
        artifact_uri = str(S3Uri(upload.bucket, artifact_key))
        manifest_uri = str(S3Uri(upload.bucket, manifest_key))
        if not self._artifacts.exists(manifest_uri):
            return self._outcome(upload, "waiting", f"no {manifest_uri} yet")
        manifest = self._manifest(manifest_uri, *parsed)
        actor = f"s3-upload:{upload.uploader}"
        if not self._artifacts.exists(artifact_uri):
            version = self._versions.note_manifest(manifest, artifact_uri, actor)
            return self._outcome(upload, version.status.value, f"no {artifact_uri} yet")
        command = RegisterVersion(manifest=manifest, location=artifact_uri, reason="uploaded")
        try:
            version = self._versions.register(manifest.name, command, actor, record_failure=True)
        except ArtifactMismatchError as exc:
            return self._outcome(upload, "failed", exc.message)
        return self._outcome(upload, version.status.value, version.location)

    def _manifest(self, uri: str, name: str, version: str) -> Manifest:
        try:
            manifest = Manifest.from_json(self._artifacts.read_bytes(uri, MANIFEST_LIMIT))
        except ValidationError as exc:
            raise InvalidInputError(
                f"{uri} is not a valid manifest: {exc.errors()[0]['msg']}"
            ) from exc
        if (manifest.name, manifest.version) != (name, version):
            raise InvalidInputError(
                f"{uri} describes {manifest.name}/{manifest.version}, not {name}/{version}"
            )
        return manifest

    @staticmethod
    def _outcome(upload: UploadedObject, result: str, detail: str) -> UploadOutcome:
        return UploadOutcome(upload.bucket, upload.key, result, detail)
