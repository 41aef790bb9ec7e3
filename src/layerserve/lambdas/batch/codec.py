"""JSON Lines requests decoded with the REST codecs' rules (same datatypes, same errors)."""

from __future__ import annotations

from typing import Any

from layerserve.domain.manifest import Signature
from layerserve.domain.tensors import InferRequest
from layerserve.protocol.v1 import decode_instances
from layerserve.protocol.v2 import decode_infer_request


class JsonRequestCodec:
    """``RequestCodec`` for the batch service: V2 bodies and V1 instances."""

    def v2(self, body: bytes) -> InferRequest:
        return decode_infer_request(body)

    def instances(self, rows: list[Any], signature: Signature) -> InferRequest:
        return decode_instances(rows, signature)
