"""Resolve and run: the transport-neutral steps the data plane (``data_plane``) and batch
jobs share; a request arrives here decoded, as an ``InferRequest``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from layerserve.domain.errors import LayerserveError, ModelNotReadyError
from layerserve.domain.tensors import (
    InferOutput,
    InferRequest,
    InferResponse,
    check_inputs,
    check_outputs,
)
from layerserve.services.catalog import ModelCatalog, Resolution
from layerserve.services.loading import ModelLoader


@dataclass(slots=True)
class InferResult:
    response: InferResponse
    resolution: Resolution
    run_s: float
    outputs: dict[str, np.ndarray[Any, Any]]
    input_elements: int | None = None
    """Elements in the request's input tensors: the request's size, for latency classes."""


class InferenceService:
    def __init__(self, catalog: ModelCatalog, loader: ModelLoader) -> None:
        self.catalog = catalog
        self.loader = loader

    def resolve(self, model: str, ref: str | None, routing_key: str | None = None) -> Resolution:
        return self.catalog.resolve(model, ref, routing_key)

    def metadata(self, model: str, ref: str | None) -> tuple[Resolution, list[str]]:
        resolution = self.resolve(model, ref)
        return resolution, self.catalog.versions(model)

    def ensure_ready(self, resolution: Resolution) -> None:
        """Load the version if needed; ``ModelNotReadyError`` when it cannot serve."""
        self.loader.get(resolution.record)

    def server_ready(self) -> bool:
        """Ready when the default version of every model can serve (KServe semantics)."""
        ready = True
        for model in self.catalog.model_names():
            try:
                resolution = self.resolve(model, None)
            except LayerserveError:
                continue  # nothing to serve by default yet (no default alias): not a failure
            try:
                self.ensure_ready(resolution)
            except ModelNotReadyError:
                ready = False
        return ready

    def infer(self, resolution: Resolution, request: InferRequest) -> InferResult:
        """Validate ``request`` against the version's signature and run it (one pass over
        inputs and outputs each: this runs on every request)."""
        record = resolution.record
        signature = record.manifest.signature
        loaded = self.loader.get(record)  # a version that cannot serve answers so first
        check_inputs(signature, request.inputs)
        requested = request.outputs
        if requested:
            check_outputs(signature, requested)
            names = [item.name for item in requested]
        else:
            names = [spec.name for spec in signature.outputs]
        feeds = {}
        elements = 0
        for item in request.inputs:
            feeds[item.name] = item.array
            elements += item.array.size
        started = time.perf_counter()
        arrays = loaded.model.run(feeds, names)
        run_s = time.perf_counter() - started
        binary = request.binary_outputs
        if requested:
            flags = [item.binary or binary for item in requested]
        else:
            flags = [binary] * len(names)
        outputs = [
            InferOutput(name, array, flag)
            for name, array, flag in zip(names, arrays, flags, strict=True)
        ]
        response = InferResponse(record.model, record.version, outputs, request.id)
        by_name = dict(zip(names, arrays, strict=True))
        return InferResult(response, resolution, run_s, by_name, elements)
