"""The packaging toolkit: every check, then a live session, for any ONNX bytes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import onnxruntime as ort

from layerserve.adapters.onnx_graph import policy, runtime
from layerserve.adapters.onnx_graph.describe import describe
from layerserve.adapters.onnx_graph.portable import pin_string_locales
from layerserve.domain.manifest import SessionSettings
from layerserve.services.packaging.ports import Arrays, ModelFacts


class OnnxModel:
    """A validated model and its onnxruntime session."""

    def __init__(self, facts: ModelFacts, session: ort.InferenceSession) -> None:
        self._facts = facts
        self._session = session

    @property
    def facts(self) -> ModelFacts:
        return self._facts

    def run(self, feeds: Mapping[str, np.ndarray[Any, Any]]) -> Arrays:
        return runtime.run(self._session, feeds)


class OnnxToolkit:
    """Implements ``ModelToolkit`` with the ``onnx`` package and onnxruntime (CPU), in
    this process (``IsolatedToolkit`` runs the same steps in a child process)."""

    def portable(self, data: bytes) -> tuple[bytes, tuple[str, ...]]:
        """The model with what would stop it loading elsewhere fixed, and a note per fix."""
        model = policy.parse(data)
        notes = pin_string_locales(model)
        return (model.SerializeToString(), notes) if notes else (data, ())

    def load(self, data: bytes, settings: SessionSettings | None = None) -> OnnxModel:
        """Parse, refuse external data and custom operators, full-check, open in ORT."""
        model = policy.parse(data)
        policy.refuse_external_data(model)
        policy.refuse_custom_domains(model)
        policy.full_check(data)
        facts = describe(model)
        return OnnxModel(facts, runtime.open_session(data, settings or SessionSettings()))

    def optimize(self, data: bytes) -> bytes:
        return runtime.optimize(data)

    def quantize_int8(self, data: bytes) -> bytes:
        return runtime.quantize_int8(policy.parse(data))
