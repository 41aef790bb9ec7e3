"""Configuration, read from the environment once per process at an entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class InferenceSettings(BaseSettings):
    """Settings of the inference function and the local stack (``LAYERSERVE_*``)."""

    model_config = SettingsConfigDict(env_prefix="LAYERSERVE_", extra="ignore")

    models_dir: Path = Path("/opt/models")
    scratch_dir: Path = Path("/tmp/layerserve")
    max_body_bytes: int = Field(default=6 * 1024 * 1024, gt=0)
    intra_op_threads: int = Field(default=0, ge=0)
    max_loaded_models: int = Field(default=8, ge=1)
    preload: Literal["none", "default"] = "default"
