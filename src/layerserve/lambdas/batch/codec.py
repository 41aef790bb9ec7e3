"""JSON Lines requests decoded with the REST codecs' rules (same datatypes, same errors)."""

from __future__ import annotations

from typing import Any

from layerserve.api.v1_codec import decode_instances
from layerserve.api.v2_codec import decode_infer_request
from layerserve.domain.manifest import Signature
from layerserve.domain.tensors import InferRequest


class JsonRequestCodec:
    """``RequestCodec`` for the batch service: V2 bodies and V1 instances."""

    def v2(self, body: bytes) -> InferRequest:
        return decode_infer_request(body)

    def instances(self, rows: list[Any], signature: Signature) -> InferRequest:
        return decode_instances(rows, signature)
