"""A corrupt or mismatched artifact is refused with a clear error, never loaded."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from layerserve.adapters.artifact_files import ArtifactUnpacker
from layerserve.adapters.layer_artifacts import LayerArtifacts
from layerserve.adapters.layer_catalog import LayerCatalog
from layerserve.domain.errors import ArtifactIntegrityError, ModelNotReadyError
from layerserve.domain.manifest import Manifest, SessionSettings
from layerserve.services.catalog import VersionRecord
from layerserve.services.loading import ModelLoader, RunnableModel
from layerserve.settings import IN_MEMORY_UNPACK_CAP
from tests.apigw import http_api_event, reply_json
from tests.conftest import Invoke

ADD = {
    "inputs": [
        {"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]},
        {"name": "b", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]},
    ]
}


@pytest.fixture
def own_root(model_layer: Path, tmp_path: Path) -> Path:
    """A private copy of the models root that a test may damage."""
    root = tmp_path / "models"
    shutil.copytree(model_layer / "models" / "addmul", root / "addmul")
    return root


def _flip_byte(path: Path, offset: int = 40) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _tamper_manifest(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    document = Manifest.from_json((folder / "manifest.json").read_bytes()).model_dump(mode="json")
    change(document)
    (folder / "manifest.json").write_text(Manifest.model_validate(document).to_json())


@pytest.fixture
def handler_over(
    inference_handler: Invoke, own_root: Path, monkeypatch: pytest.MonkeyPatch
) -> Invoke:
    monkeypatch.setenv("LAYERSERVE_MODELS_DIR", str(own_root))
    return inference_handler


def test_corrupt_compressed_artifact_is_refused(own_root: Path, handler_over: Invoke) -> None:
    _flip_byte(own_root / "addmul" / "2" / "model.onnx.zst")
    response = handler_over(http_api_event("POST", "/v2/models/addmul/infer", ADD))
    assert response["statusCode"] == 503
    error = reply_json(response)["error"]
    assert "failed to load" in error
    assert "compressed artifact of addmul/2 does not match its manifest" in error
    ready = handler_over(http_api_event("GET", "/v2/health/ready"))
    assert (ready["statusCode"], reply_json(ready)) == (503, {"ready": False})
    v1 = handler_over(http_api_event("GET", "/v1/models/addmul"))
    assert v1["statusCode"] == 503 and "failed to load" in reply_json(v1)["error"]
    # The intact version still serves.
    response = handler_over(http_api_event("POST", "/v2/models/addmul/versions/1/infer", ADD))
    assert response["statusCode"] == 200


def test_manifest_with_wrong_onnx_digest_is_refused(own_root: Path, handler_over: Invoke) -> None:
    def wrong_digest(document: dict[str, Any]) -> None:
        document["onnx"]["sha256"] = "0" * 64

    _tamper_manifest(own_root / "addmul" / "2", wrong_digest)
    response = handler_over(http_api_event("POST", "/v2/models/addmul/infer", ADD))
    assert response["statusCode"] == 503
    assert "ONNX bytes of addmul/2 does not match" in reply_json(response)["error"]


def test_missing_artifact_is_refused(own_root: Path, handler_over: Invoke) -> None:
    (own_root / "addmul" / "2" / "model.onnx.zst").unlink()
    response = handler_over(http_api_event("GET", "/v2/models/addmul/versions/2/ready"))
    assert response["statusCode"] == 503
    assert "unreadable" in reply_json(response)["error"]


class _CountingFactory:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, onnx: bytes | Path, settings: SessionSettings | None) -> RunnableModel:
        self.calls += 1
        raise AssertionError("a session must never be created for a bad artifact")


def _loader(root: Path, tmp_path: Path, factory: _CountingFactory) -> ModelLoader:
    return ModelLoader(
        LayerArtifacts(root), ArtifactUnpacker(tmp_path / "scratch", IN_MEMORY_UNPACK_CAP), factory
    )


def test_failure_is_remembered_and_no_session_is_created(own_root: Path, tmp_path: Path) -> None:
    _flip_byte(own_root / "addmul" / "1" / "model.onnx.zst")
    record = LayerCatalog(own_root).resolve("addmul", "1", None).record
    factory = _CountingFactory()
    loader = _loader(own_root, tmp_path, factory)
    for _ in range(2):
        with pytest.raises(ModelNotReadyError, match="does not match its manifest"):
            loader.get(record)
    assert factory.calls == 0
    assert loader.failure("addmul", "1") is not None
    assert not list((tmp_path / "scratch").rglob("*.onnx"))


def test_location_outside_the_models_root_is_refused(own_root: Path, tmp_path: Path) -> None:
    record = LayerCatalog(own_root).resolve("addmul", "1", None).record
    escaping = VersionRecord(record.model, record.version, record.manifest, "models/../../etc")
    with pytest.raises(ArtifactIntegrityError, match="escapes the models root"):
        LayerArtifacts(own_root).fetch(escaping)


def test_misplaced_manifest_is_skipped_and_reported(own_root: Path) -> None:
    shutil.copytree(own_root / "addmul" / "1", own_root / "addmul" / "7")
    catalog = LayerCatalog(own_root)
    assert catalog.versions("addmul") == ["1", "2"]
    assert any("lies in addmul/7" in problem for problem in catalog.problems)


def test_decompressed_models_do_not_accumulate_in_scratch(
    handler_over: Invoke, tmp_path: Path
) -> None:
    for version in ("1", "2", "1"):
        path = f"/v2/models/addmul/versions/{version}/infer"
        assert handler_over(http_api_event("POST", path, ADD))["statusCode"] == 200
    assert not list((tmp_path / "scratch").rglob("*.onnx"))
