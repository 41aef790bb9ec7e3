"""Wiring: settings in, ready-to-serve objects out. One module per function's wiring.

- ``inference_service``: the inference service over its adapters (inference and batch);
- ``model_layer``: registering what a deployed model layer holds.

This package hands names on and imports nothing heavy: the inference function's entry
module imports it before the web stack, to start loading models during those imports.
"""

from layerserve.bootstrap.inference_service import (
    build_inference_service,
    reconnect_inference_service,
)
from layerserve.bootstrap.model_layer import sync_model_layer

__all__ = ["build_inference_service", "reconnect_inference_service", "sync_model_layer"]
