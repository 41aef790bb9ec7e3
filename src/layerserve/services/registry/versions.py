"""Use cases on versions: register (verifying S3 artifacts first), archive, get, list."""

from __future__ import annotations

from pydantic import JsonValue

from layerserve.domain.errors import (
    ArtifactMismatchError,
    ConflictError,
    InvalidInputError,
    VersionNotFoundError,
)
from layerserve.domain.manifest import Manifest
from layerserve.domain.registry import (
    HistoryAction,
    ModelVersion,
    VersionStatus,
    is_s3,
    validate_location,
)
from layerserve.domain.versions import version_key
from layerserve.services.registry.commands import Archive, RegisterVersion
from layerserve.services.registry.context import Context, check_version_name
from layerserve.services.registry.models import ModelUseCases
from layerserve.services.registry.ports import ArtifactReader


def _facts(version: ModelVersion) -> dict[str, JsonValue]:
    return {
        "status": version.status.value,
        "location": version.location,
        "artifact_sha256": version.manifest.artifact.sha256,
        "onnx_sha256": version.manifest.onnx.sha256,
    }


class VersionUseCases:
    def __init__(
        self,
        ctx: Context,
        models: ModelUseCases,
        artifacts: ArtifactReader | None,
        artifacts_bucket: str | None,
    ) -> None:
        self._ctx = ctx
        self._models = models
        self._artifacts = artifacts
        self._bucket = artifacts_bucket if artifacts is not None else None

    def get(self, model: str, version: str) -> ModelVersion:
        self._models.get(model)
        found = self._ctx.store.get_version(model, check_version_name(version))
        if found is None:
            raise VersionNotFoundError(model, version)
        return found

    def all(self, model: str) -> list[ModelVersion]:
        self._models.get(model)
        versions = self._ctx.store.list_versions(model)
        return sorted(versions, key=lambda v: version_key(v.version))

    def register(
        self, model: str, cmd: RegisterVersion, actor: str, *, record_failure: bool = False
    ) -> ModelVersion:
        """Register ``cmd.manifest`` at ``cmd.location``; idempotent for the same artifact.

        An ``s3://`` artifact is hashed before anything is written: on a mismatch the
        call fails with nothing changed, unless ``record_failure`` (upload events, which
        have no caller to tell) records the version as ``failed``.
        """
        manifest = cmd.manifest
        if manifest.name != model:
            raise InvalidInputError(f"manifest is for model '{manifest.name}', not '{model}'")
        location = validate_location(cmd.location, self._bucket)
        existing = self._ctx.store.get_version(model, manifest.version)
        if existing is not None and not existing.status.replaceable:
            return _same_or_conflict(existing, manifest, location)
        if self._ctx.store.get_alias(model, manifest.version) is not None:
            # /versions/{ref} resolves aliases first: such a version could never be named.
            raise InvalidInputError(
                f"version '{manifest.version}' of '{model}' would be hidden by an alias"
            )
        self._models.ensure(model, actor)
        location, failure = self._verify(manifest, location)
        if failure is not None and not record_failure:
            raise failure
        status = VersionStatus.READY if failure is None else VersionStatus.FAILED
        reason = failure.message if failure is not None else ""
        version = self._write(existing, manifest, location, status, reason, cmd.reason, actor)
        if failure is not None:
            raise failure
        return version

    def note_manifest(self, manifest: Manifest, location: str, actor: str) -> ModelVersion:
        """Record a version whose manifest arrived before its artifact (status ``registered``)."""
        location = validate_location(location, self._bucket)
        existing = self._ctx.store.get_version(manifest.name, manifest.version)
        if existing is not None:
            return existing
        self._models.ensure(manifest.name, actor)
        waiting = "manifest uploaded, waiting for the artifact"
        try:
            return self._write(
                None, manifest, location, VersionStatus.REGISTERED, waiting, "", actor
            )
        except ConflictError:
            return self.get(manifest.name, manifest.version)

    def archive(self, model: str, version: str, cmd: Archive, actor: str) -> ModelVersion:
        current = self.get(model, version)
        if current.status is VersionStatus.ARCHIVED:
            return current
        if current.aliases:
            raise ConflictError(
                f"version '{version}' of model '{model}' is used by alias(es) "
                f"{', '.join(current.aliases)} (routes or rollback target); move them first"
            )
        archived = current.model_copy(
            update={"status": VersionStatus.ARCHIVED, "updated_at": self._ctx.clock()}
        )
        entry = self._ctx.entry(
            model,
            actor,
            HistoryAction.ARCHIVE,
            f"version {version}",
            before={"status": current.status.value},
            after={"status": archived.status.value},
            reason=cmd.reason,
        )
        self._ctx.store.put_version(archived, current, entry)
        return archived

    def _verify(
        self, manifest: Manifest, location: str
    ) -> tuple[str, ArtifactMismatchError | None]:
        """The location to record (an S3 object pinned to the version that was verified)
        and the mismatch, if any."""
        if not is_s3(location) or self._artifacts is None:
            return location, None  # layer artifacts are verified by the runtime at load
        artifact = manifest.artifact
        try:
            return self._artifacts.verify(location, artifact.sha256, artifact.size), None
        except ArtifactMismatchError as exc:
            return location, exc

    def _write(
        self,
        existing: ModelVersion | None,
        manifest: Manifest,
        location: str,
        status: VersionStatus,
        status_reason: str,
        reason: str,
        actor: str,
    ) -> ModelVersion:
        now = self._ctx.clock()
        version = ModelVersion(
            model=manifest.name,
            version=manifest.version,
            status=status,
            location=location,
            manifest=manifest,
            created_at=now,
            created_by=actor,
            updated_at=now,
            status_reason=status_reason,
        )
        action = HistoryAction.FAIL if status is VersionStatus.FAILED else HistoryAction.REGISTER
        entry = self._ctx.entry(
            manifest.name,
            actor,
            action,
            f"version {manifest.version}",
            before=_facts(existing) if existing else None,
            after=_facts(version),
            reason=reason or status_reason,
        )
        try:
            self._ctx.store.put_version(version, existing, entry)
        except ConflictError:
            # A concurrent registration (e.g. the upload event) may have won the race.
            again = self._ctx.store.get_version(manifest.name, manifest.version)
            if again is None or again.status.replaceable:
                raise
            return _same_or_conflict(again, manifest, location)
        return version


def _same_or_conflict(existing: ModelVersion, manifest: Manifest, location: str) -> ModelVersion:
    if existing.same_artifact(manifest, location):
        return existing
    raise ConflictError(
        f"version '{existing.version}' of model '{existing.model}' is already registered "
        f"({existing.status.value}) with another artifact: sha256 "
        f"{existing.manifest.artifact.sha256[:12]}… at {existing.location}"
    )
