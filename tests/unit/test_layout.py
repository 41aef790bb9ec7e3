"""The artifact layout: layer folders, registry locations and upload keys."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from layerserve.domain.layout import (
    LAMBDA_MODELS_ROOT,
    MANIFEST_GLOB,
    is_layer_location,
    layer_folder,
    layer_location,
    models_root,
    parse_upload_key,
    upload_keys,
    version_dir,
    version_of,
)


def test_a_layer_version_folder_and_its_registry_location_name_the_same_place() -> None:
    layer = PurePosixPath("/build/layer")
    root = models_root(layer)
    folder = version_dir(root, "iris", "1.2")
    assert folder == PurePosixPath("/build/layer/models/iris/1.2")
    location = layer_location("iris", "1.2")
    assert location == "models/iris/1.2"
    assert layer / location == folder
    assert layer_folder(root, location) == folder
    assert layer_folder(PurePosixPath(LAMBDA_MODELS_ROOT), location) == PurePosixPath(
        "/opt/models/iris/1.2"
    )


def test_only_layer_locations_name_a_layer_folder() -> None:
    s3 = "s3://art/artifacts/iris/1/model.onnx.zst"
    assert not is_layer_location(s3)
    assert layer_folder(Path("/opt/models"), s3) is None
    assert layer_folder(Path("/opt/models"), "modelsx/iris/1") is None
    assert isinstance(layer_folder(Path("/opt/models"), "models/iris/1"), Path)


def test_the_manifest_glob_finds_every_version_under_a_models_root() -> None:
    manifest = PurePosixPath("iris/1.2/manifest.json")
    assert manifest.match(MANIFEST_GLOB)
    assert not PurePosixPath("iris/manifest.json").match(MANIFEST_GLOB)


def test_upload_keys_round_trip() -> None:
    artifact, manifest = upload_keys("m", "1.2")
    assert artifact == "artifacts/m/1.2/model.onnx.zst"
    assert manifest == "artifacts/m/1.2/manifest.json"
    assert parse_upload_key(artifact) == parse_upload_key(manifest) == ("m", "1.2")
    assert parse_upload_key("artifacts/m/1/other.bin") is None
    assert parse_upload_key("uploads/m/1/model.onnx.zst") is None
    assert parse_upload_key("artifacts/m/1/2/model.onnx.zst") is None


def test_a_manifest_path_names_its_version() -> None:
    root = PurePosixPath("/opt/models")
    manifest = version_dir(root, "iris", "1.2") / "manifest.json"
    assert version_of(manifest) == ("iris", "1.2")
