"""The wire protocol: Open Inference Protocol V2 and V1 bodies, the binary tensor
extension, and the HTTP status of each error. Used by the data plane (HTTP) and by
batch jobs alike; it knows the domain and nothing else.

``v2`` (infer requests and responses), ``v1`` (``instances`` and ``predictions``),
``binary`` (the binary tensor data extension), ``json_values`` (tensors as JSON values,
the rules V1 and V2 share), ``status`` (errors as HTTP status codes).
"""

from layerserve.protocol.binary import HEADER_LENGTH, tensor_buffer, tensor_bytes
from layerserve.protocol.status import STATUS, status_for
from layerserve.protocol.v1 import (
    PredictionRows,
    decode_instances,
    decode_predict_request,
    encode_predict_response,
    encode_predictions,
    predictions,
)
from layerserve.protocol.v2 import decode_infer_request, encode_infer_response, json_outputs

__all__ = [
    "HEADER_LENGTH",
    "STATUS",
    "PredictionRows",
    "decode_infer_request",
    "decode_instances",
    "decode_predict_request",
    "encode_infer_response",
    "encode_predict_response",
    "encode_predictions",
    "json_outputs",
    "predictions",
    "status_for",
    "tensor_buffer",
    "tensor_bytes",
]
