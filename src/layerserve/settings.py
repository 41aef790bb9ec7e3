"""Configuration, read from the environment once per process at an entry point.

Each function builds only its own settings class: ``defer_build`` leaves the validators
of the others unbuilt (a few ms of cold start each).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from layerserve.domain.layout import LAMBDA_MODELS_ROOT

IN_MEMORY_UNPACK_CAP = 256 * 1024 * 1024
MetricsFormat = Literal["powertools", "line"]


class InferenceSettings(BaseSettings):
    """Settings of the inference function and the local stack (``LAYERSERVE_*``)."""

    model_config = SettingsConfigDict(env_prefix="LAYERSERVE_", extra="ignore", defer_build=True)

    models_dir: Path = Path(LAMBDA_MODELS_ROOT)
    scratch_dir: Path = Path("/tmp/layerserve")
    max_body_bytes: int = Field(default=6 * 1024 * 1024, gt=0)
    max_response_bytes: int = Field(default=6_291_556, gt=0)
    """Lambda's synchronous response payload limit; larger answers are refused (400)."""
    intra_op_threads: int = Field(default=0, ge=0)
    max_loaded_models: int = Field(default=8, ge=1)
    in_memory_unpack_max_bytes: int | None = Field(default=None, ge=0)
    """Models up to this size (compressed + ONNX) unpack in memory; larger ones stream
    through ``scratch_dir`` (memory bounded, /tmp used). Default: a quarter of the
    function's memory, at most 256 MiB."""
    function_memory_mb: int | None = Field(
        default=None, ge=1, validation_alias="AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
    )
    """Set by Lambda."""
    preload: Literal["none", "default"] = "default"
    registry_table: str | None = None
    """With a registry, names resolve through aliases; without, the layer is the catalog."""
    registry_ttl_s: float = Field(default=5.0, ge=0)
    metrics_format: MetricsFormat = "line"
    """How per-request CloudWatch metrics are written: Powertools Metrics (an EMF line of
    its own), or inside the metric record line (one line, cheaper per request)."""

    def in_memory_unpack_limit(self) -> int:
        if self.in_memory_unpack_max_bytes is not None:
            return self.in_memory_unpack_max_bytes
        if self.function_memory_mb is None:
            return IN_MEMORY_UNPACK_CAP
        return min(IN_MEMORY_UNPACK_CAP, self.function_memory_mb * 1024 * 1024 // 4)


class MetricsSettings(BaseSettings):
    """Settings of the metrics function: rollup table and retention (``LAYERSERVE_*``)."""

    model_config = SettingsConfigDict(env_prefix="LAYERSERVE_", extra="ignore", defer_build=True)

    rollups_table: str = Field(min_length=3)
    rollup_retention_days: int = Field(default=35, ge=1)


class GuardrailSettings(MetricsSettings):
    """Settings of the scheduled guardrail run: the rollups and the registry table."""

    registry_table: str = Field(min_length=3)


class RegistrySettings(BaseSettings):
    """Settings of the registry function (``LAYERSERVE_*``): its table and artifacts bucket.

    Without ``artifacts_bucket`` only layer locations can be registered.
    """

    model_config = SettingsConfigDict(env_prefix="LAYERSERVE_", extra="ignore", defer_build=True)

    registry_table: str = Field(min_length=3)
    artifacts_bucket: str | None = None
    rollups_table: str | None = None
    """With the rollups table, the registry API also answers metrics queries."""
    models_dir: Path = Path(LAMBDA_MODELS_ROOT)
    """Where the model layer is mounted: deploys register the versions found there."""


class BatchSettings(BaseSettings):
    """Settings of the batch inference function (``LAYERSERVE_BATCH_*``).

    The models come from ``InferenceSettings`` (``LAYERSERVE_MODELS_DIR`` ...), as for
    the inference function.
    """

    model_config = SettingsConfigDict(
        env_prefix="LAYERSERVE_BATCH_", extra="ignore", defer_build=True
    )

    idempotency_table: str = Field(min_length=3)
    idempotency_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)
    input_prefix: str = "inputs/"
    output_prefix: str = "outputs/"
    size: int = Field(default=256, ge=1, le=65536)
    """Records (lines, CSV rows, array rows) per model run."""
    part_bytes: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)
    max_line_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_batch_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    read_chunk_bytes: int = Field(default=1024 * 1024, ge=4096)
    reserve_s: float = Field(default=60.0, ge=0)
    """Seconds kept free at the end of an invocation: a job continues in a new one then."""
