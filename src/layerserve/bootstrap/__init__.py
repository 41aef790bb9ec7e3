"""Wiring: settings in, ready-to-serve objects out. One module per function's wiring.

- ``inference``, ``inference_init``: the inference function's handler and its init phase;
- ``inference_service``: the inference service over its adapters (inference and batch);
- ``model_layer``: registering what a deployed model layer holds;
- ``registry``, ``batch``, ``metrics``, ``guardrails``: those functions' handlers;
- ``registry_service``: the registry service (the registry function, the guardrails);
- ``rollups``: the metrics rollups table (written by ``metrics``, read by the others);
- ``lazy``: a handler built on its first invocation (the Lambda entry points).

This package hands names on and imports nothing heavy: the inference function's entry
module imports it before the web stack, to start loading models during those imports,
and the metrics function, which serves no model, never imports onnxruntime through it.
The names below are imported from their module when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from layerserve.bootstrap.inference_service import (
        build_inference_service,
        reconnect_inference_service,
    )
    from layerserve.bootstrap.model_layer import sync_model_layer

__all__ = ["build_inference_service", "reconnect_inference_service", "sync_model_layer"]
_MODULES = {
    "build_inference_service": "layerserve.bootstrap.inference_service",
    "reconnect_inference_service": "layerserve.bootstrap.inference_service",
    "sync_model_layer": "layerserve.bootstrap.model_layer",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULES[name]), name)
