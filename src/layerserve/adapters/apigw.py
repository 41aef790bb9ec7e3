"""Mangum's API Gateway handlers with SIMD base64 for binary bodies.

API Gateway hands Lambda binary bodies base64-encoded and expects binary responses
base64-encoded. The standard library needs ~7-11 ms for a 1 MiB tensor each way here;
``pybase64`` needs ~0.15 ms. The ASGI scope is built once per event instead of on every
access, and a response body sent in one message is kept as it is instead of being copied
through Mangum's ``BytesIO`` (one 1 MiB copy less per binary answer). Everything else is
Mangum's own behaviour.
"""

from __future__ import annotations

import binascii
from functools import cached_property
from typing import Any

import pybase64
from mangum import Mangum
from mangum.handlers.api_gateway import APIGateway, HTTPGateway
from mangum.protocols.http import HTTPCycle, HTTPCycleState
from mangum.types import ASGI, LambdaConfig, LambdaContext, LambdaEvent, Message, Response, Scope


def _is_text(response: Response, config: LambdaConfig) -> bool:
    content_type = next(
        (
            value.decode("latin-1")
            for key, value in response["headers"]
            if key.lower() == b"content-type"
        ),
        "application/json",
    )
    return any(kind in content_type for kind in config["text_mime_types"])


def _b64decode(text: str | bytes) -> bytes:
    """API Gateway's base64 is strict (no line breaks): the SIMD path, ~7x faster than
    the lenient one that must skip characters outside the alphabet; that one is kept for
    a body that is not strict base64."""
    try:
        return pybase64.b64decode(text, validate=True)
    except binascii.Error:
        return pybase64.b64decode(text)


class _FastBase64:
    event: dict[str, Any]
    config: LambdaConfig

    @cached_property
    def scope(self) -> Scope:
        """Built once: Mangum's property rebuilds it on every access (twice a request)."""
        scope: Scope = super().scope  # type: ignore[misc]
        return scope

    @property
    def body(self) -> bytes:
        raw = self.event.get("body") or ""
        if self.event.get("isBase64Encoded"):
            return _b64decode(raw)
        return raw if isinstance(raw, bytes) else raw.encode()

    def _binary_response(self, response: Response, respond: Any) -> dict[str, Any]:
        if not response["body"] or _is_text(response, self.config):
            return dict(respond(response))
        out = dict(respond({**response, "body": b""}))
        out["body"] = pybase64.b64encode_as_string(response["body"])
        out["isBase64Encoded"] = True
        return out


class FastHTTPGateway(_FastBase64, HTTPGateway):
    """HTTP API events (payload 1.0 and 2.0)."""

    def __call__(self, response: Response) -> dict[str, Any]:
        return self._binary_response(response, super().__call__)


class FastAPIGateway(_FastBase64, APIGateway):
    """REST API proxy events."""

    def __call__(self, response: Response) -> dict[str, Any]:
        return self._binary_response(response, super().__call__)


HANDLERS = [FastHTTPGateway, FastAPIGateway]


class _KeptBodyCycle(HTTPCycle):
    """Mangum's HTTP cycle, except that the response body is collected as a list of the
    chunks the app sent: one ``bytes`` chunk (every Starlette ``Response``) becomes the
    body as it is; several are joined once. Mangum writes each chunk into a ``BytesIO``
    and copies it out again (for a 1 MiB binary answer, 2 MiB of memory traffic)."""

    def __init__(self, scope: Scope, body: bytes) -> None:
        super().__init__(scope, body)
        self._chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if self.state is not HTTPCycleState.RESPONSE or message["type"] != "http.response.body":
            await super().send(message)  # the start message, and Mangum's errors
            return
        chunk = message.get("body", b"")
        if chunk:
            self._chunks.append(chunk)
        if message.get("more_body", False):
            return
        chunks = self._chunks
        self.body = chunks[0] if len(chunks) == 1 and type(chunks[0]) is bytes else b"".join(chunks)
        self.state = HTTPCycleState.COMPLETE
        await self.app_queue.put({"type": "http.disconnect"})
        self.logger.info("%s %s %s", self.scope["method"], self.scope["path"], self.status)


class ApiGatewayAdapter(Mangum):
    """Mangum for API Gateway events (``HANDLERS``, no lifespan), keeping the response
    body the app sent (``_KeptBodyCycle``)."""

    def __init__(self, app: ASGI) -> None:
        super().__init__(app, lifespan="off", custom_handlers=HANDLERS)  # type: ignore[arg-type]

    def __call__(self, event: LambdaEvent, context: LambdaContext) -> dict[str, Any]:
        handler = self.infer(event, context)  # lifespan is off: nothing to enter
        cycle = _KeptBodyCycle(handler.scope, handler.body)
        response: dict[str, Any] = handler(cycle(self.app))
        return response
