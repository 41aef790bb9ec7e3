"""Wiring: settings in, ready-to-serve objects out. Entry points call these."""

from __future__ import annotations

from layerserve.adapters.artifact_files import ArtifactUnpacker
from layerserve.adapters.layer_artifacts import LayerArtifacts
from layerserve.adapters.layer_catalog import LayerCatalog
from layerserve.adapters.onnx_runtime import OrtSessionFactory
from layerserve.services.inference import InferenceService
from layerserve.services.loading import ModelLoader
from layerserve.settings import InferenceSettings


def build_inference_service(settings: InferenceSettings) -> InferenceService:
    """A static model repository over the models root (the layer mount)."""
    catalog = LayerCatalog(settings.models_dir)
    loader = ModelLoader(
        source=LayerArtifacts(settings.models_dir),
        unpack=ArtifactUnpacker(settings.scratch_dir),
        create_session=OrtSessionFactory(settings.intra_op_threads),
        max_loaded=settings.max_loaded_models,
    )
    service = InferenceService(catalog, loader)
    if settings.preload == "default":
        service.server_ready()  # load default versions now; failures are remembered
    return service
