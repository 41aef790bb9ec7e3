"""What int8 dynamic quantisation can change in a model, and the graph it is given.

onnxruntime's dynamic quantiser rewrites MatMul, Conv, LSTM and Attention nodes with
constant FP32 weights (not Gemm: a Gemm with constant weights becomes MatMul + Add
first, which computes the same). Anything else, such as scikit-learn's ``ai.onnx.ml``
operators or a tree ensemble, it cannot shrink; packaging says so instead of failing
inside the quantiser.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from layerserve.adapters.onnx_graph.walk import iter_nodes

WEIGHT_SLOTS = {"MatMul": (1,), "Conv": (1,), "Gemm": (1,), "LSTM": (1, 2), "Attention": (1,)}
_FAMILIES = (
    ("TreeEnsemble", "a tree ensemble"),
    ("Linear", "a linear model"),
    ("SVM", "a support vector machine"),
    ("NaiveBayes", "a naive Bayes model"),
    ("GRU", "a recurrent network"),
    ("RNN", "a recurrent network"),
)
_NOTES = {"a recurrent network": " (onnxruntime quantises LSTM weights, not GRU or RNN ones)"}


def _weights(model: onnx.ModelProto) -> list[tuple[onnx.NodeProto, onnx.TensorProto]]:
    stored = {tensor.name: tensor for tensor in model.graph.initializer}
    return [
        (node, stored[node.input[slot]])
        for node in model.graph.node
        for slot in WEIGHT_SLOTS.get(node.op_type, ())
        if slot < len(node.input) and node.input[slot] in stored
    ]


def int8_blocker(model: onnx.ModelProto) -> str:
    """Why int8 dynamic quantisation would change nothing ("" when it has work to do)."""
    weights = _weights(model)
    if any(tensor.data_type == TensorProto.FLOAT for _, tensor in weights):
        return ""
    if weights:
        kinds = sorted({TensorProto.DataType.Name(tensor.data_type) for _, tensor in weights})
        return (
            f"the model's MatMul/Gemm/Conv weights are {'/'.join(kinds)} and onnxruntime's int8 "
            "quantiser takes FP32 weights only; package it without --quantize (FP16 already "
            "halves the size) or quantise its FP32 export"
        )
    ops = sorted(
        {f"{node.domain + ':' if node.domain else ''}{node.op_type}" for node in model.graph.node}
    )
    return f"the model has no MatMul/Gemm/Conv weights; it is {_family(ops)}"


def _family(ops: list[str]) -> str:
    for stem, family in _FAMILIES:
        matched = [op for op in ops if op.split(":")[-1].startswith(stem)]
        if matched:
            return f"{family} ({', '.join(matched)}){_NOTES.get(family, '')}"
    listed = ", ".join(ops[:6]) + (", …" if len(ops) > 6 else "")
    return f"made of operators the quantiser does not change ({listed})"


def gemm_as_matmul(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy where each Gemm with constant weights (and no transposed A) is MatMul + Add."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    stored = {tensor.name: tensor for tensor in copy.graph.initializer}
    nodes: list[onnx.NodeProto] = []
    for node in copy.graph.node:
        rewritten = _rewrite(node, stored, copy.graph) if node.op_type == "Gemm" else None
        nodes.extend(rewritten or [node])
    del copy.graph.node[:]
    copy.graph.node.extend(nodes)
    used = {name for _, node in iter_nodes(copy) for name in node.input}
    used |= {output.name for output in copy.graph.output}
    kept = [tensor for tensor in copy.graph.initializer if tensor.name in used]
    del copy.graph.initializer[:]
    copy.graph.initializer.extend(kept)
    return copy


def _attrs(node: onnx.NodeProto) -> dict[str, float | int]:
    return {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}


def _rewrite(
    node: onnx.NodeProto, stored: dict[str, onnx.TensorProto], graph: onnx.GraphProto
) -> list[onnx.NodeProto] | None:
    attrs = _attrs(node)
    if attrs.get("transA", 0) or len(node.input) < 2 or node.input[1] not in stored:
        return None
    weight = numpy_helper.to_array(stored[node.input[1]])
    if weight.dtype != np.float32 or weight.ndim != 2:
        return None
    weight = weight.T if attrs.get("transB", 0) else weight
    weight = (weight * np.float32(attrs.get("alpha", 1.0))).astype(np.float32)
    label = node.name or node.output[0]
    weight_name = f"{label}/weight_for_matmul"
    graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(weight), weight_name))
    has_bias = len(node.input) > 2 and node.input[2]
    if not has_bias:
        return [
            helper.make_node("MatMul", [node.input[0], weight_name], list(node.output), name=label)
        ]
    product = f"{label}/product"
    bias = node.input[2]
    beta = float(attrs.get("beta", 1.0))
    if beta != 1.0:
        if bias not in stored:
            return None
        scaled = (numpy_helper.to_array(stored[bias]) * np.float32(beta)).astype(np.float32)
        bias = f"{label}/bias_for_add"
        graph.initializer.append(numpy_helper.from_array(scaled, bias))
    return [
        helper.make_node("MatMul", [node.input[0], weight_name], [product], name=f"{label}/MatMul"),
        helper.make_node("Add", [product, bias], list(node.output), name=f"{label}/Add"),
    ]
