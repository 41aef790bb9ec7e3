"""The inference service over its adapters: catalog, artifact sources, loader, sessions.

Shared by the inference function and the batch function, which serve the same models.
AWS clients are created here unless the caller injects them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from layerserve.adapters.artifact_files import ArtifactUnpacker
from layerserve.adapters.layer_artifacts import LayerArtifacts
from layerserve.adapters.layer_catalog import LayerCatalog
from layerserve.adapters.onnx_runtime import OrtSessionFactory
from layerserve.services.catalog import ModelCatalog
from layerserve.services.inference import InferenceService
from layerserve.services.loading import ArtifactSource, ModelLoader, RoutedArtifacts
from layerserve.settings import InferenceSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


def build_inference_service(
    settings: InferenceSettings,
    dynamodb: DynamoDBClient | None = None,
    s3: S3Client | None = None,
    preload: bool = True,
) -> InferenceService:
    """Static layer catalog, or the registry when ``registry_table`` is set.

    AWS clients are created here, by the entry point, unless the caller injects them. With
    ``preload`` (and ``settings.preload == "default"``) the default versions are loaded
    before this returns; otherwise the caller loads them (``service.server_ready()``).
    """
    catalog, s3_source = _registry_parts(settings, dynamodb, s3)
    loader = ModelLoader(
        source=_artifact_source(settings, s3_source),
        unpack=ArtifactUnpacker(settings.scratch_dir, settings.in_memory_unpack_limit()),
        create_session=OrtSessionFactory(settings.intra_op_threads),
        max_loaded=settings.max_loaded_models,
    )
    service = InferenceService(catalog or LayerCatalog(settings.models_dir), loader)
    if preload and settings.preload == "default":
        service.server_ready()  # load default versions now; failures are remembered
    return service


def reconnect_inference_service(service: InferenceService, settings: InferenceSettings) -> None:
    """After a snapshot restore: new AWS clients (no connection of the snapshot is reused)
    and a new registry catalog (empty cache, its own random source); loaded models stay.

    Without a registry there is nothing to reconnect: the layer catalog holds no client.
    """
    if settings.registry_table is None:
        return
    catalog, s3_source = _registry_parts(settings, None, None)
    assert catalog is not None  # a registry table is set
    service.catalog = catalog
    service.loader.use_source(_artifact_source(settings, s3_source))


def _artifact_source(settings: InferenceSettings, s3: ArtifactSource | None) -> ArtifactSource:
    return RoutedArtifacts(LayerArtifacts(settings.models_dir), s3)


def _registry_parts(
    settings: InferenceSettings, dynamodb: DynamoDBClient | None, s3: S3Client | None
) -> tuple[ModelCatalog | None, ArtifactSource | None]:
    if settings.registry_table is None:
        return None, None
    import boto3

    from layerserve.adapters.dynamodb_registry import DynamoDBRegistry
    from layerserve.adapters.s3_artifacts import S3Artifacts, S3ArtifactSource
    from layerserve.services.catalog.registry import RegistryCatalog

    reader = DynamoDBRegistry(
        settings.registry_table, dynamodb or boto3.client("dynamodb"), consistent_reads=False
    )
    catalog = RegistryCatalog(reader, ttl_s=settings.registry_ttl_s)
    artifacts = S3Artifacts(s3 or boto3.client("s3"))
    return catalog, S3ArtifactSource(artifacts, settings.scratch_dir / "s3")
