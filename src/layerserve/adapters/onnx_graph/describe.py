"""Read the facts a manifest records from the graph itself."""

from __future__ import annotations

import onnx

from layerserve.adapters.onnx_graph.hints import input_hints, reaching_inputs
from layerserve.adapters.onnx_graph.int8 import int8_blocker
from layerserve.domain.datatypes import ONNX_ELEM_TO_V2
from layerserve.domain.errors import InvalidModelError
from layerserve.domain.manifest import Dim, Signature, TensorSpec
from layerserve.services.packaging.ports import ModelFacts


def describe(model: onnx.ModelProto) -> ModelFacts:
    found = signature(model.graph)
    inputs = [spec.name for spec in found.inputs]
    return ModelFacts(
        ir_version=model.ir_version,
        opsets={(entry.domain or "ai.onnx"): entry.version for entry in model.opset_import},
        producer_name=model.producer_name,
        producer_version=model.producer_version,
        signature=found,
        hints=input_hints(model.graph, inputs),
        reaches=reaching_inputs(model.graph, inputs),
        int8_blocker=int8_blocker(model),
    )


def signature(graph: onnx.GraphProto) -> Signature:
    """Graph inputs (minus initializers, which old exporters list too) and outputs."""
    initialized = {tensor.name for tensor in graph.initializer}
    inputs = [info for info in graph.input if info.name not in initialized]
    return Signature(
        inputs=tuple(_spec(info, "input") for info in inputs),
        outputs=tuple(_spec(info, "output") for info in graph.output),
    )


def _spec(info: onnx.ValueInfoProto, role: str) -> TensorSpec:
    kind = info.type.WhichOneof("value")
    if kind != "tensor_type":
        what = kind.removesuffix("_type").replace("_", " ") if kind else "untyped value"
        hint = " (convert scikit-learn classifiers with zipmap disabled)" if kind else ""
        raise InvalidModelError(
            f"{role} '{info.name}' is a {what}, not a tensor; "
            f"only tensor inputs and outputs can be served{hint}"
        )
    tensor = info.type.tensor_type
    datatype = ONNX_ELEM_TO_V2.get(tensor.elem_type)
    if datatype is None:
        element = onnx.TensorProto.DataType.Name(tensor.elem_type)
        raise InvalidModelError(
            f"{role} '{info.name}' has element type {element}, which cannot be served"
        )
    if not tensor.HasField("shape"):
        raise InvalidModelError(
            f"{role} '{info.name}' has no declared rank; re-export it with a shape"
        )
    return TensorSpec(
        name=info.name, datatype=datatype, shape=tuple(_dim(d) for d in tensor.shape.dim)
    )


def _dim(dim: onnx.TensorShapeProto.Dimension) -> Dim:
    kind = dim.WhichOneof("value")
    if kind == "dim_value":
        return int(dim.dim_value)
    if kind == "dim_param" and dim.dim_param:
        return str(dim.dim_param)
    return None
