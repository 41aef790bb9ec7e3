"""What layerserve refuses to package: external data, custom operators, invalid graphs."""

from __future__ import annotations

import onnx

from layerserve.adapters.onnx_graph.walk import iter_nodes, iter_tensors
from layerserve.domain.errors import InvalidModelError

STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "com.microsoft"})
"""ONNX, ONNX-ML and onnxruntime's built-in contrib operators (used by its optimiser)."""

_MAX_LISTED = 5


def one_line(text: str, limit: int = 300) -> str:
    """Collapse a multi-line library message into one readable line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def parse(data: bytes) -> onnx.ModelProto:
    if not data:
        raise InvalidModelError("not an ONNX model: the file is empty")
    try:
        return onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf's DecodeError, among others
        raise InvalidModelError(f"not an ONNX model: {one_line(str(exc))}") from exc


def refuse_external_data(model: onnx.ModelProto) -> None:
    for where, tensor in iter_tensors(model):
        if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data) > 0:
            raise InvalidModelError(
                f"{where} keeps its data in an external file; layerserve needs a self-contained "
                "model (save it without save_as_external_data)"
            )


def refuse_custom_domains(model: onnx.ModelProto) -> None:
    local = {(function.domain, function.name) for function in model.functions}
    foreign = sorted(
        {
            f"{node.domain}:{node.op_type}{where}"
            for where, node in iter_nodes(model)
            if node.domain not in STANDARD_DOMAINS and (node.domain, node.op_type) not in local
        }
    )
    if foreign:
        listed = ", ".join(foreign[:_MAX_LISTED])
        more = f" and {len(foreign) - _MAX_LISTED} more" if len(foreign) > _MAX_LISTED else ""
        raise InvalidModelError(
            f"model uses custom operators ({listed}{more}); only the ai.onnx, ai.onnx.ml and "
            "com.microsoft domains are supported"
        )


def full_check(model: onnx.ModelProto | bytes) -> None:
    """The checker with shape inference; given the serialised bytes, it skips serialising
    the model again (seconds and a copy for a large model)."""
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise InvalidModelError(f"model fails the ONNX checker: {one_line(str(exc))}") from exc
