"""After a restore the inference service talks to the registry through new clients and a
new catalog (empty cache, its own random source); the loaded models stay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from layerserve.bootstrap import build_inference_service, reconnect_inference_service
from layerserve.local.seed import seed_registry
from layerserve.services.registry import Promote
from layerserve.settings import InferenceSettings
from tests.registry_support import TABLE, AwsRegistry, moto_registry


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsRegistry]:
    yield from moto_registry(monkeypatch)


def test_reconnect_replaces_the_registry_side_and_keeps_the_models(
    aws: AwsRegistry, models_root: Path, tmp_path: Path
) -> None:
    seed_registry(aws.service, models_root)  # addmul production -> 2
    settings = InferenceSettings(
        models_dir=models_root, scratch_dir=tmp_path, registry_table=TABLE, registry_ttl_s=300
    )
    service = build_inference_service(settings, dynamodb=aws.dynamodb, s3=aws.s3, preload=False)
    before = service.resolve("addmul", None)
    service.ensure_ready(before)
    catalog = service.catalog
    aws.service.aliases.promote("addmul", "production", Promote(version="1"), "tests")
    assert service.resolve("addmul", None).record.version == "2"  # cached for 300 s

    reconnect_inference_service(service, settings)  # clients from the SDK's own chain

    assert service.catalog is not catalog
    assert service.resolve("addmul", None).record.version == "1"  # read afresh
    assert service.loader.is_loaded("addmul", "2")  # the snapshot's session is kept


def test_reconnect_without_a_registry_changes_nothing(models_root: Path, tmp_path: Path) -> None:
    settings = InferenceSettings(models_dir=models_root, scratch_dir=tmp_path)
    service = build_inference_service(settings, preload=False)
    catalog = service.catalog
    reconnect_inference_service(service, settings)
    assert service.catalog is catalog
