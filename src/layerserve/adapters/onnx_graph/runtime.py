"""onnxruntime at package time: open, run, optimise offline, quantise."""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic

from layerserve.adapters.onnx_graph.int8 import gemm_as_matmul
from layerserve.adapters.onnx_graph.policy import one_line, parse
from layerserve.adapters.onnx_graph.walk import iter_nodes
from layerserve.adapters.onnx_runtime import session_options
from layerserve.domain.errors import InvalidModelError
from layerserve.domain.manifest import SessionSettings
from layerserve.services.packaging.errors import SampleRunError
from layerserve.services.packaging.ports import Arrays

_PROVIDERS = ["CPUExecutionProvider"]
_ERROR_LEVEL = 3  # onnxruntime severity: only errors reach stderr
_PREFIX = re.compile(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ")
_NODE = re.compile(r"Name:'([^']*)'")


def _options() -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.log_severity_level = _ERROR_LEVEL
    return options


def _reason(exc: Exception) -> str:
    """The message without onnxruntime's ``[ONNXRuntimeError] : 1 : FAIL :`` prefix."""
    return _PREFIX.sub("", one_line(str(exc)))


def open_session(data: bytes, settings: SessionSettings) -> ort.InferenceSession:
    """A session with the runtime's own options at the given settings."""
    options = session_options(level=settings.graph_optimization_level)
    try:
        return ort.InferenceSession(data, options, providers=_PROVIDERS)
    except Exception as exc:  # onnxruntime raises its own pybind classes
        raise InvalidModelError(f"onnxruntime cannot load the model: {_reason(exc)}") from exc


def run(session: ort.InferenceSession, feeds: Mapping[str, np.ndarray[Any, Any]]) -> Arrays:
    names = [output.name for output in session.get_outputs()]
    try:
        values = session.run(names, dict(feeds))
    except Exception as exc:
        reason = _reason(exc)
        node = _NODE.search(reason)
        raise SampleRunError(reason, node.group(1) if node else None) from exc
    return {name: np.asarray(value) for name, value in zip(names, values, strict=True)}


def optimize(data: bytes) -> bytes:
    """Graph optimisation at ORT_ENABLE_EXTENDED: fusions that stay portable across CPUs."""
    options = _options()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    with tempfile.TemporaryDirectory(prefix="layerserve-opt-") as scratch:
        target = Path(scratch) / "optimized.onnx"
        options.optimized_model_filepath = str(target)
        try:
            ort.InferenceSession(data, options, providers=_PROVIDERS)
        except Exception as exc:
            raise InvalidModelError(f"graph optimisation failed: {_reason(exc)}") from exc
        optimized = _drop_unused_opsets(parse(target.read_bytes()))
    serialized: bytes = optimized.SerializeToString()
    return serialized


def _drop_unused_opsets(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnxruntime imports every domain it knows; keep only those the nodes use."""
    used = {node.domain for _, node in iter_nodes(model)} | {"", "ai.onnx"}
    kept = [entry for entry in model.opset_import if entry.domain in used]
    del model.opset_import[:]
    model.opset_import.extend(kept)
    return model


class _DropPreprocessHint(logging.Filter):
    """The quantiser logs a pre-processing hint on the root logger for every model."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


@contextmanager
def _quiet_quantizer() -> Iterator[None]:
    hint = _DropPreprocessHint()
    logging.getLogger().addFilter(hint)
    try:
        yield
    finally:
        logging.getLogger().removeFilter(hint)


def quantize_int8(model: onnx.ModelProto) -> bytes:
    """Dynamic quantisation: int8 weights per channel, activations quantised at run time
    (Gemm nodes with constant weights become MatMul + Add first, so they count too)."""
    with tempfile.TemporaryDirectory(prefix="layerserve-q8-") as scratch, _quiet_quantizer():
        target = Path(scratch) / "quantized.onnx"
        try:
            quantize_dynamic(
                gemm_as_matmul(model), target, per_channel=True, weight_type=QuantType.QInt8
            )
        except Exception as exc:  # the quantiser raises plain Exceptions and asserts
            raise InvalidModelError(f"int8 quantisation failed: {one_line(str(exc))}") from exc
        return target.read_bytes()
