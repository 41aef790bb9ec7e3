"""The inference function's Mangum adapter keeps the body the app sent (no buffer copy)."""

from __future__ import annotations

import base64
from typing import Any

from mangum.types import Receive, Scope, Send

from layerserve.adapters.apigw import ApiGatewayAdapter, _KeptBodyCycle
from layerserve.local.events import FakeLambdaContext, http_api_event

BLOB = bytes(range(256)) * 64


def _app(chunks: list[bytes], content_type: bytes = b"application/octet-stream") -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        headers = [(b"content-type", content_type)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for index, chunk in enumerate(chunks):
            more = index < len(chunks) - 1
            await send({"type": "http.response.body", "body": chunk, "more_body": more})

    return app


CONTEXT: Any = FakeLambdaContext()  # has what Mangum reads


def _event() -> dict[str, Any]:
    return http_api_event("POST", "/v2/models/m/infer", b"{}", {"host": "test.local"})


def test_one_body_message_is_the_body_itself() -> None:
    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    response = _KeptBodyCycle(scope, b"")(_app([BLOB]))
    assert response["body"] is BLOB


def test_chunked_bodies_are_joined_and_base64_encoded() -> None:
    adapter = ApiGatewayAdapter(_app([BLOB[:100], b"", BLOB[100:]]))
    out = adapter(_event(), CONTEXT)
    assert out["statusCode"] == 200 and out["isBase64Encoded"] is True
    assert base64.b64decode(out["body"]) == BLOB


def test_text_bodies_stay_text() -> None:
    adapter = ApiGatewayAdapter(_app([b'{"a":', b"1}"], b"application/json"))
    out = adapter(_event(), CONTEXT)
    assert out["body"] == '{"a":1}' and out["isBase64Encoded"] is False


def test_an_app_that_fails_before_answering_gets_mangum_s_500() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    out = ApiGatewayAdapter(failing)(_event(), CONTEXT)
    assert out["statusCode"] == 500 and out["body"] == "Internal Server Error"
