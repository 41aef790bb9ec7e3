"""Wiring, one module per function: settings in, ready-to-serve objects and handlers out."""

from layerserve.bootstrap.inference import (
    build_inference_service,
    reconnect_inference_service,
    sync_model_layer,
)

__all__ = ["build_inference_service", "reconnect_inference_service", "sync_model_layer"]
