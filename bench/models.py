"""Benchmark models, built in-process with ``onnx.helper`` and packaged by the real packager.

``minilm_encoder`` is a BERT-style encoder with the dimensions of MiniLM-L6 (all-MiniLM-L6-v2):
random but deterministic weights, so its *cost* is realistic while its outputs mean nothing.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from layerserve.adapters.onnx_graph import OnnxToolkit
from layerserve.domain.manifest import Manifest
from layerserve.services.packaging import PackageRequest, package_model

OPSET = 17
CACHE = Path(__file__).resolve().parent.parent / ".bench-cache"
MINILM_CACHE_KEY = "minilm-int8-v3"
"""Bump when the encoder or its packaging changes, so a stale cache is not reused."""


@dataclass(frozen=True, slots=True)
class EncoderDims:
    vocab: int = 30522
    hidden: int = 384
    layers: int = 6
    heads: int = 12
    intermediate: int = 1536
    positions: int = 512


def identity(features: int) -> onnx.ModelProto:
    """``y = x`` on FP32 ``[batch, features]``: the model costs (almost) nothing."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", features])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", features])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [x], [y])
    return _finish(graph)


def _finish(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="layerserve-bench"
    )
    model.ir_version = 8
    return model


class _Builder:
    """Accumulates nodes and initializers; names are generated from a counter."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._count = 0

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, array: np.ndarray[Any, Any], stem: str = "c") -> str:
        name = self._name(stem)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def weight(self, *shape: int) -> str:
        return self.const(self.rng.normal(0.0, 0.02, shape).astype(np.float32), "w")

    def zeros(self, *shape: int) -> str:
        return self.const(np.zeros(shape, np.float32), "b")

    def ones(self, *shape: int) -> str:
        return self.const(np.ones(shape, np.float32), "g")

    def op(self, op_type: str, inputs: Sequence[str], out: str | None = None, **attrs: Any) -> str:
        name = out or self._name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [name], name=name, **attrs))
        return name

    def dense(self, x: str, rows: int, cols: int) -> str:
        return self.op("Add", [self.op("MatMul", [x, self.weight(rows, cols)]), self.zeros(cols)])

    def layer_norm(self, x: str, size: int, out: str | None = None) -> str:
        scale, bias = self.ones(size), self.zeros(size)
        return self.op("LayerNormalization", [x, scale, bias], out, axis=-1, epsilon=1e-12)

    def ints(self, *values: int) -> str:
        return self.const(np.asarray(values, np.int64), "i")

    def int_scalar(self, value: int) -> str:
        return self.const(np.asarray(value, np.int64), "i")

    def scalar(self, value: float) -> str:
        return self.const(np.asarray(value, np.float32), "s")


def _embeddings(b: _Builder, dims: EncoderDims, token_types: int = 0) -> str:
    """Word + position + token-type embeddings; without ``token_types``, token type 0."""
    words = b.op("Gather", [b.weight(dims.vocab, dims.hidden), "input_ids"])
    length = b.op("Gather", [b.op("Shape", ["input_ids"]), b.int_scalar(1)])
    positions = b.op("Range", [b.int_scalar(0), length, b.int_scalar(1)])
    located = b.op("Gather", [b.weight(dims.positions, dims.hidden), positions])
    kind = (
        b.op("Gather", [b.weight(token_types, dims.hidden), "token_type_ids"])
        if token_types
        else b.weight(dims.hidden)
    )
    summed = b.op("Add", [b.op("Add", [words, located]), kind])
    return b.layer_norm(summed, dims.hidden)


def _mask_bias(b: _Builder) -> tuple[str, str]:
    """The mask as FP32 ``[batch, seq]`` and the additive bias ``[batch, 1, 1, seq]``."""
    mask = b.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    wide = b.op("Unsqueeze", [mask, b.ints(1, 2)])
    padding = b.op("Sub", [b.scalar(1.0), wide])
    return mask, b.op("Mul", [padding, b.scalar(-10000.0)])


def _attention(b: _Builder, x: str, bias: str, dims: EncoderDims) -> str:
    head = dims.hidden // dims.heads
    split = b.ints(0, 0, dims.heads, head)

    def heads(perm: list[int]) -> str:
        projected = b.dense(x, dims.hidden, dims.hidden)
        return b.op("Transpose", [b.op("Reshape", [projected, split])], perm=perm)

    query, key, value = heads([0, 2, 1, 3]), heads([0, 2, 3, 1]), heads([0, 2, 1, 3])
    scores = b.op("Mul", [b.op("MatMul", [query, key]), b.scalar(1.0 / math.sqrt(head))])
    probs = b.op("Softmax", [b.op("Add", [scores, bias])], axis=-1)
    context = b.op("Transpose", [b.op("MatMul", [probs, value])], perm=[0, 2, 1, 3])
    merged = b.op("Reshape", [context, b.ints(0, 0, dims.hidden)])
    return b.dense(merged, dims.hidden, dims.hidden)


def _feed_forward(b: _Builder, x: str, dims: EncoderDims) -> str:
    up = b.dense(x, dims.hidden, dims.intermediate)
    erf = b.op("Erf", [b.op("Mul", [up, b.scalar(1.0 / math.sqrt(2.0))])])
    gelu = b.op("Mul", [b.op("Mul", [up, b.scalar(0.5)]), b.op("Add", [erf, b.scalar(1.0)])])
    return b.dense(gelu, dims.intermediate, dims.hidden)


def _layer(b: _Builder, x: str, bias: str, dims: EncoderDims, out: str | None) -> str:
    attended = b.layer_norm(b.op("Add", [_attention(b, x, bias, dims), x]), dims.hidden)
    return b.layer_norm(b.op("Add", [_feed_forward(b, attended, dims), attended]), dims.hidden, out)


def _mean_pool(b: _Builder, hidden: str, mask: str) -> str:
    weights = b.op("Unsqueeze", [mask, b.ints(2)])
    total = b.op("ReduceSum", [b.op("Mul", [hidden, weights]), b.ints(1)], keepdims=0)
    count = b.op("ReduceSum", [mask, b.ints(1)], keepdims=1)
    return b.op("Div", [total, b.op("Max", [count, b.scalar(1e-9)])], "sentence_embedding")


def minilm_encoder(dims: EncoderDims | None = None, seed: int = 0) -> onnx.ModelProto:
    """Token ids and mask in; ``last_hidden_state`` and a mean-pooled embedding out."""
    return _encoder(dims or EncoderDims(), seed, token_types=0)


def bert_encoder(
    dims: EncoderDims | None = None, seed: int = 0, token_types: int = 2
) -> onnx.ModelProto:
    """Shaped like a standard BERT export: ``input_ids``, ``attention_mask`` and
    ``token_type_ids`` (a ``token_types``-row embedding table, 2 in BERT) in, the
    same two outputs as ``minilm_encoder``."""
    return _encoder(dims or EncoderDims(), seed, token_types)


def _encoder(dims: EncoderDims, seed: int, token_types: int) -> onnx.ModelProto:
    b = _Builder(seed)
    mask, bias = _mask_bias(b)
    hidden = _embeddings(b, dims, token_types)
    for index in range(dims.layers):
        last = index == dims.layers - 1
        hidden = _layer(b, hidden, bias, dims, "last_hidden_state" if last else None)
    _mean_pool(b, hidden, mask)
    names = ("input_ids", "attention_mask") + (("token_type_ids",) if token_types else ())
    ids = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
        for name in names
    ]
    outputs = [
        helper.make_tensor_value_info(
            "last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", dims.hidden]
        ),
        helper.make_tensor_value_info(
            "sentence_embedding", TensorProto.FLOAT, ["batch", dims.hidden]
        ),
    ]
    title = "bert_like" if token_types else "minilm_l6_like"
    graph = helper.make_graph(b.nodes, title, ids, outputs, initializer=b.inits)
    return _finish(graph)


def token_inputs(
    batch: int, sequence: int, vocab: int = 30522, seed: int = 0
) -> dict[str, np.ndarray[Any, Any]]:
    """Random token ids and a mask whose last rows are partly padding."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, (batch, sequence), dtype=np.int64)
    mask = np.ones((batch, sequence), np.int64)
    for row in range(1, batch, 2):
        mask[row, sequence - sequence // (row + 1) :] = 0
    return {"input_ids": ids, "attention_mask": mask}


def bert_inputs(
    batch: int, sequence: int, vocab: int = 30522, seed: int = 0
) -> dict[str, np.ndarray[Any, Any]]:
    """``token_inputs`` plus ``token_type_ids``: sentence A (0) then sentence B (1)."""
    return with_token_types(token_inputs(batch, sequence, vocab, seed))


# --- packaging -----------------------------------------------------------------------------
def package(
    model: onnx.ModelProto, layer: Path, name: str, request: PackageRequest | None = None
) -> Manifest:
    """Package ``model`` as ``layer/models/<name>/1`` through the real packager."""
    request = request or PackageRequest(name=name, version="1")
    report = package_model(model.SerializeToString(), request, layer, OnnxToolkit())
    return report.manifest


def minilm_layer(cache: Path = CACHE, optimize: bool = False, token_types: bool = False) -> Path:
    """A layer folder holding ``minilm/1`` (int8; with ``optimize``, also optimised offline
    by onnxruntime, as ``layerserve package --optimize`` does; with ``token_types``, the
    real-shaped encoder with ``token_type_ids``), built once under ``cache``."""
    key = MINILM_TT_CACHE_KEY if token_types else MINILM_CACHE_KEY
    layer = cache / (key + ("-optimized" if optimize else ""))
    if (layer / "models" / "minilm" / "1" / "manifest.json").is_file():
        return layer
    cache.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=cache, prefix="building-"))
    try:
        request = PackageRequest(
            name="minilm",
            version="1",
            quantize="int8",
            optimize=optimize,
            samples=_samples(token_types),
        )
        encoder = bert_encoder() if token_types else minilm_encoder()
        package(encoder, scratch, "minilm", request)
        shutil.rmtree(layer, ignore_errors=True)
        scratch.rename(layer)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return layer


MINILM_TT_CACHE_KEY = "minilm-tt-int8-v2"
"""Cache key of the real-shaped MiniLM (``bert_encoder``: BERT's three inputs)."""


def with_token_types(feeds: dict[str, np.ndarray[Any, Any]]) -> dict[str, np.ndarray[Any, Any]]:
    """Adds ``token_type_ids``: segment 0 for the first half of each row, 1 after it."""
    ids = feeds["input_ids"]
    types = np.zeros_like(ids)
    types[:, ids.shape[1] // 2 :] = 1
    return {**feeds, "token_type_ids": types}


def _samples(token_types: bool) -> dict[str, np.ndarray[Any, Any]]:
    samples = token_inputs(batch=8, sequence=64)
    return with_token_types(samples) if token_types else samples
