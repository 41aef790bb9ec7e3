"""Registry use cases over the DynamoDB adapter (moto): lifecycle, references, conflicts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from layerserve.adapters.s3_artifacts import S3Artifacts, S3ArtifactSource
from layerserve.domain.errors import (
    ArtifactIntegrityError,
    ArtifactMismatchError,
    ConflictError,
    IncompatibleSignatureError,
    InvalidInputError,
    ModelNotFoundError,
    RevisionConflictError,
    VersionNotFoundError,
)
from layerserve.domain.registry import HistoryAction, VersionStatus
from layerserve.domain.routing import Route
from layerserve.services.catalog import VersionRecord
from layerserve.services.registry import (
    Archive,
    Canary,
    CreateModel,
    Promote,
    RegisterVersion,
    Rollback,
    SetAlias,
)
from tests.registry_support import BUCKET, AwsRegistry, make_manifest, moto_registry

ME = "arn:aws:iam::123456789012:user/deployer"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsRegistry]:
    yield from moto_registry(monkeypatch)


def register(aws: AwsRegistry, version: str, model: str = "m", **kwargs: object) -> None:
    manifest = make_manifest(model, version, **kwargs)  # type: ignore[arg-type]
    location = f"models/{model}/{version}"
    aws.service.versions.register(model, RegisterVersion(manifest=manifest, location=location), ME)


def routes(*pairs: tuple[str, int]) -> tuple[Route, ...]:
    return tuple(Route(version=v, weight=w) for v, w in pairs)


def test_register_creates_the_model_and_is_idempotent(aws: AwsRegistry) -> None:
    register(aws, "1")
    register(aws, "1")
    version = aws.service.versions.get("m", "1")
    assert version.status is VersionStatus.READY
    assert aws.service.models.get("m").default_alias == "production"
    actions = [e.action for e in aws.service.history("m").entries]
    assert actions == [HistoryAction.REGISTER, HistoryAction.CREATE_MODEL]
    with pytest.raises(ConflictError, match="another artifact"):
        register(aws, "1", artifact=b"other bytes")


def test_promote_canary_rollback_keep_references(aws: AwsRegistry) -> None:
    for version in ("1", "2", "3"):
        register(aws, version)
    aliases = aws.service.aliases
    assert aliases.promote("m", "production", Promote(version="1"), ME).revision == 1
    moved = aliases.promote("m", "production", Promote(version="2", reason="better"), ME)
    assert moved.routes == routes(("2", 100)) and moved.previous_routes == routes(("1", 100))
    canary = aliases.canary("m", "production", Canary(version="3", weight=10), ME)
    assert canary.routes == routes(("2", 90), ("3", 10))
    assert aws.service.versions.get("m", "3").aliases == ("production",)
    assert aws.service.versions.get("m", "1").aliases == ()  # no longer a rollback target
    back = aliases.rollback("m", "production", Rollback(reason="errors"), ME)
    assert back.routes == routes(("2", 100)) and back.previous_routes == ()
    assert back.revision == 4
    assert aws.service.versions.get("m", "3").aliases == ()
    with pytest.raises(ConflictError, match="nothing to roll back"):
        aliases.rollback("m", "production", Rollback(), ME)
    entry = aws.service.history("m", limit=1).entries[0]
    assert (entry.action, entry.actor, entry.reason) == (HistoryAction.ROLLBACK, ME, "errors")
    assert entry.before is not None and entry.before["routes"] == [["2", 90], ["3", 10]]


def test_archive_refuses_referenced_versions_and_aliases_refuse_archived(aws: AwsRegistry) -> None:
    register(aws, "1")
    register(aws, "2")
    aws.service.aliases.promote("m", "production", Promote(version="1"), ME)
    with pytest.raises(ConflictError, match="used by alias"):
        aws.service.versions.archive("m", "1", Archive(), ME)
    archived = aws.service.versions.archive("m", "2", Archive(reason="old"), ME)
    assert archived.status is VersionStatus.ARCHIVED
    assert aws.service.versions.archive("m", "2", Archive(), ME) == archived
    with pytest.raises(ConflictError, match="archived, not ready"):
        aws.service.aliases.promote("m", "production", Promote(version="2"), ME)
    with pytest.raises(VersionNotFoundError):
        aws.service.aliases.promote("m", "production", Promote(version="9"), ME)
    assert aws.service.aliases.get("m", "production").routes == routes(("1", 100))


def test_a_stale_revision_is_a_conflict_carrying_the_current_one(aws: AwsRegistry) -> None:
    register(aws, "1")
    register(aws, "2")
    aliases = aws.service.aliases
    aliases.set("m", "staging", SetAlias(version="1", expected_revision=0), ME)
    with pytest.raises(RevisionConflictError) as caught:
        aliases.set("m", "staging", SetAlias(version="2", expected_revision=0), ME)
    assert caught.value.current_revision == 1 and caught.value.details == {"revision": 1}
    weighted = SetAlias(routes=routes(("1", 50), ("2", 50)), expected_revision=1)
    assert aliases.set("m", "staging", weighted, ME).revision == 2
    with pytest.raises(RevisionConflictError):
        aliases.rollback("m", "staging", Rollback(expected_revision=1), ME)


def test_the_store_rejects_a_concurrent_change_it_did_not_see(aws: AwsRegistry) -> None:
    register(aws, "1")
    register(aws, "2")
    first = aws.service.aliases.promote("m", "production", Promote(version="1"), ME)
    aws.service.aliases.promote("m", "production", Promote(version="2"), ME)
    moved = first.model_copy(update={"revision": 2})
    entry = aws.service.history("m", limit=1).entries[0].model_copy(update={"id": "x"})
    with pytest.raises(RevisionConflictError) as caught:
        aws.store.write_alias(moved, first, entry)
    assert caught.value.current_revision == 2


def test_incompatible_signatures_need_force(aws: AwsRegistry) -> None:
    register(aws, "1")
    register(aws, "2", inputs=(("x", "INT64", ("batch", 4)),))
    register(aws, "3", inputs=(("x", "FP32", ("batch", 8)),))
    aliases = aws.service.aliases
    aliases.promote("m", "production", Promote(version="1"), ME)
    with pytest.raises(IncompatibleSignatureError, match="datatype FP32 → INT64"):
        aliases.canary("m", "production", Canary(version="2", weight=5), ME)
    with pytest.raises(IncompatibleSignatureError, match="dim 1 4 → 8"):
        aliases.promote("m", "production", Promote(version="3"), ME)
    forced = aliases.promote("m", "production", Promote(version="3", force=True), ME)
    assert forced.routes == routes(("3", 100))


def test_history_pages_newest_first(aws: AwsRegistry) -> None:
    for version in ("1", "2", "3", "4"):
        register(aws, version)
    first = aws.service.history("m", limit=3)
    assert first.cursor is not None
    second = aws.service.history("m", limit=3, cursor=first.cursor)
    targets = [e.target for e in first.entries + second.entries]
    assert targets == ["version 4", "version 3", "version 2", "version 1", "model m"]
    with pytest.raises(InvalidInputError, match="cursor"):
        aws.service.history("m", cursor="bm9wZQ")


def test_s3_artifacts_are_verified_before_they_are_ready(aws: AwsRegistry) -> None:
    good = b"compressed model bytes"
    aws.s3.put_object(Bucket=BUCKET, Key="artifacts/m/1/model.onnx.zst", Body=good)
    location = f"s3://{BUCKET}/artifacts/m/1/model.onnx.zst"
    register_cmd = RegisterVersion(
        manifest=make_manifest("m", "1", artifact=good), location=location
    )
    assert aws.service.versions.register("m", register_cmd, ME).status is VersionStatus.READY
    bad = RegisterVersion(manifest=make_manifest("m", "2", artifact=b"else"), location=location)
    with pytest.raises(ArtifactMismatchError, match="does not match"):
        aws.service.versions.register("m", bad, ME)
    assert aws.store.get_version("m", "2") is None
    outside = RegisterVersion(manifest=make_manifest("m", "3"), location="s3://elsewhere/k")
    with pytest.raises(InvalidInputError, match="outside the artifacts bucket"):
        aws.service.versions.register("m", outside, ME)


def test_a_versioned_artifact_is_pinned_to_the_bytes_that_were_verified(
    aws: AwsRegistry, tmp_path: Path
) -> None:
    aws.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    key = "artifacts/m/1/model.onnx.zst"
    good = b"compressed model bytes"
    written = aws.s3.put_object(Bucket=BUCKET, Key=key, Body=good)
    plain = f"s3://{BUCKET}/{key}"
    command = RegisterVersion(manifest=make_manifest("m", "1", artifact=good), location=plain)
    version = aws.service.versions.register("m", command, ME)
    assert version.location == f"{plain}?versionId={written['VersionId']}"

    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=b"overwritten later")
    assert aws.service.versions.register("m", command, ME) == version  # idempotent
    source = S3ArtifactSource(S3Artifacts(aws.s3), tmp_path)
    record = VersionRecord("m", "1", version.manifest, version.location)
    assert source.fetch(record).read_bytes() == good  # the verified version, not the latest


def test_a_missing_object_version_is_a_clear_failure_not_an_outage(
    aws: AwsRegistry, tmp_path: Path
) -> None:
    aws.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    key = "artifacts/m/1/model.onnx.zst"
    good = b"compressed model bytes"
    written = aws.s3.put_object(Bucket=BUCKET, Key=key, Body=good)
    manifest = make_manifest("m", "1", artifact=good)
    unknown = RegisterVersion(manifest=manifest, location=f"s3://{BUCKET}/{key}?versionId=nope")
    with pytest.raises(ArtifactMismatchError, match="does not exist"):
        aws.service.versions.register("m", unknown, ME)

    pinned = f"s3://{BUCKET}/{key}?versionId={written['VersionId']}"
    aws.s3.delete_object(Bucket=BUCKET, Key=key, VersionId=written["VersionId"])
    source = S3ArtifactSource(S3Artifacts(aws.s3), tmp_path)
    with pytest.raises(ArtifactIntegrityError, match="does not exist"):  # remembered, not retried
        source.fetch(VersionRecord("m", "1", manifest, pinned))


def test_an_unversioned_artifact_keeps_its_plain_location(aws: AwsRegistry) -> None:
    good = b"compressed model bytes"
    aws.s3.put_object(Bucket=BUCKET, Key="artifacts/m/1/model.onnx.zst", Body=good)
    plain = f"s3://{BUCKET}/artifacts/m/1/model.onnx.zst"
    command = RegisterVersion(manifest=make_manifest("m", "1", artifact=good), location=plain)
    assert aws.service.versions.register("m", command, ME).location == plain


def test_models_are_created_once_and_listed(aws: AwsRegistry) -> None:
    aws.service.models.create(CreateModel(name="b", default_alias="live"), ME)
    aws.service.models.create(CreateModel(name="a"), ME)
    with pytest.raises(ConflictError, match="already exists"):
        aws.service.models.create(CreateModel(name="a"), ME)
    assert [m.name for m in aws.service.models.all()] == ["a", "b"]
    with pytest.raises(ModelNotFoundError):
        aws.service.status("zzz")


def test_versions_and_aliases_never_share_a_name(aws: AwsRegistry) -> None:
    register(aws, "v1")
    aws.service.aliases.promote("m", "stable", Promote(version="v1"), ME)
    with pytest.raises(InvalidInputError, match="would be hidden by an alias"):
        register(aws, "stable")
    with pytest.raises(InvalidInputError, match="would hide version 'v1'"):
        aws.service.aliases.promote("m", "v1", Promote(version="v1"), ME)


def test_a_name_taken_concurrently_is_refused_by_the_transaction(
    aws: AwsRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reads before the write can be stale (a concurrent writer took the name after
    them): the transaction itself checks the other kind of item."""
    register(aws, "v1")
    aws.service.aliases.promote("m", "stable", Promote(version="v1"), ME)
    real_alias, real_version = aws.store.get_alias, aws.store.get_version

    def stale_alias(model: str, alias: str) -> object:
        return None if alias == "stable" else real_alias(model, alias)

    def stale_version(model: str, version: str) -> object:
        return None if version == "v1" else real_version(model, version)

    monkeypatch.setattr(aws.store, "get_alias", stale_alias)
    with pytest.raises(InvalidInputError, match="would be hidden by an alias"):
        register(aws, "stable")
    monkeypatch.setattr(aws.store, "get_alias", real_alias)
    monkeypatch.setattr(aws.store, "get_version", stale_version)
    register(aws, "v2")
    with pytest.raises(InvalidInputError, match="would hide version 'v1'"):
        aws.service.aliases.promote("m", "v1", Promote(version="v2"), ME)
    monkeypatch.setattr(aws.store, "get_version", real_version)
    assert [a.name for a in aws.service.aliases.all("m")] == ["stable"]
    assert aws.service.versions.get("m", "v1").aliases == ("stable",)


def test_names_that_cannot_exist_are_refused_before_storage(aws: AwsRegistry) -> None:
    register(aws, "1")
    with pytest.raises(InvalidInputError, match="not a valid version name"):
        aws.service.versions.get("m", "v" * 2000)
    with pytest.raises(InvalidInputError, match="not a valid model name"):
        aws.service.versions.get("m" * 2000, "1")
