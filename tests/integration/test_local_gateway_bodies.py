"""Request bodies that are not UTF-8 text reach the handler as API Gateway sends them:
base64-encoded with ``isBase64Encoded``, whatever content type the client claimed."""

from __future__ import annotations

import gzip
import json
import struct
import zlib

import httpx
import numpy as np
import pytest

from layerserve.local.events import http_api_event
from layerserve.local.gateway import LocalGateway, Route
from tests.conftest import Invoke
from tests.servers import serving

DATA = [0.5] * 16
DOCUMENT = json.dumps(
    {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 16], "data": DATA}]}
).encode()
CONTENT_TYPES = (
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",  # curl's default for -d / --data-binary
    "application/octet-stream",
    None,
)


def _binary_request() -> tuple[bytes, dict[str, str]]:
    """The binary tensor extension: a JSON header, then the raw little-endian FP32 bytes."""
    blob = struct.pack("<16f", *DATA)
    header = json.dumps(
        {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 16],
                     "parameters": {"binary_data_size": len(blob)}}]}
    ).encode()  # fmt: skip
    return header + blob, {"inference-header-content-length": str(len(header))}


BODIES = {
    "gzip": (gzip.compress(DOCUMENT), {"content-encoding": "gzip"}),
    "deflate": (zlib.compress(DOCUMENT), {"content-encoding": "deflate"}),
    "binary": _binary_request(),
}


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_compressed_and_binary_bodies_are_answered_whatever_the_content_type(
    inference_handler: Invoke, content_type: str | None
) -> None:
    def handler(event: dict[str, object], context: object) -> dict[str, object]:
        return inference_handler(event)

    gateway = LocalGateway([Route("/v2", handler)])
    with serving(gateway) as address, httpx.Client(base_url=f"http://{address}") as http:
        for kind, (body, extra) in BODIES.items():
            headers = dict(extra)
            if content_type is not None:
                headers["content-type"] = content_type
            response = http.post("/v2/models/mlp/infer", content=body, headers=headers)
            assert response.status_code == 200, (kind, content_type, response.text)
            assert response.headers["content-type"].startswith("application/json")
            (output,) = response.json()["outputs"]
            assert np.isfinite(output["data"]).all(), kind


def test_only_uncompressed_utf8_text_travels_as_text() -> None:
    text = http_api_event("POST", "/v2", b'{"a": "\xc3\xa9"}', {"content-type": "application/json"})
    assert (text["isBase64Encoded"], text["body"]) == (False, '{"a": "é"}')
    for body, headers in [
        (b"\xff\xfe", {"content-type": "text/plain"}),
        (b"{}", {"content-type": "application/json", "content-encoding": "gzip"}),
        (b"{}", {"content-type": "application/octet-stream"}),
        (b"{}", {}),
    ]:
        event = http_api_event("POST", "/v2", body, headers)
        assert event["isBase64Encoded"] is True, headers
    assert http_api_event("GET", "/v2")["body"] == ""
