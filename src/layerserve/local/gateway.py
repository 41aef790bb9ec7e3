"""A local stand-in for API Gateway: HTTP in, Lambda proxy events through real handlers.

Each function's handler runs on its own single worker thread, as one Lambda execution
environment serves one request at a time. Requests wait for it on the event loop, first
come, first served, and the loop hands the worker one call at a time: the worker sits
idle while the loop replies and dispatches, instead of both threads queueing for the
GIL at every hand-over (which, with waiters on a thread lock woken in no order, gave a
long tail under concurrent clients). The stack runs one thread per function, not a pool.
IAM-authorised routes answer 403 to unsigned requests, as API Gateway does.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from layerserve.local.events import FakeLambdaContext, decode_reply, http_api_event

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(slots=True)
class Route:
    prefix: str
    handler: Handler
    iam: bool = False
    environment: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="function")
    )
    """The function's one execution environment: the thread its handler runs on."""
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Requests wait for the environment here, first come, first served."""


class LocalGateway:
    def __init__(self, routes: Sequence[Route]) -> None:
        # Longest prefix first, so /v2/models wins over /v2.
        self._routes = sorted(routes, key=lambda route: len(route.prefix), reverse=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        headers = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        route = self._match(scope["path"])
        if route is None:
            await _reply(
                send, 404, {"content-type": "application/json"}, b'{"message":"Not Found"}'
            )
            return
        if route.iam and "authorization" not in headers:
            await _reply(
                send, 403, {"content-type": "application/json"}, b'{"message":"Forbidden"}'
            )
            return
        event = http_api_event(
            scope["method"],
            scope["path"],
            body,
            headers,
            scope.get("query_string", b"").decode("latin-1"),
            iam_arn=_caller_arn(headers) if route.iam else None,
        )
        async with route.turn:  # one call at a time, dispatched by the loop
            reply = await asyncio.wrap_future(route.environment.submit(_invoke, route, event))
        await _reply(send, reply.status, reply.headers, reply.body)

    def _match(self, path: str) -> Route | None:
        return next((route for route in self._routes if path.startswith(route.prefix)), None)


_worker = threading.local()


def _invoke(route: Route, event: dict[str, Any]) -> Any:
    _ensure_event_loop()
    return decode_reply(route.handler(event, FakeLambdaContext()))


def _ensure_event_loop() -> None:
    """Lambda calls a handler on the main thread, whose event loop Mangum uses; here
    handlers run on worker threads, each of which needs its own loop for Mangum."""
    if getattr(_worker, "loop", None) is None:
        _worker.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_worker.loop)


def _caller_arn(headers: dict[str, str]) -> str:
    """The signing access key names the local caller (no signature check locally)."""
    credential = headers["authorization"].partition("Credential=")[2].split("/", 1)[0]
    return f"arn:aws:iam::000000000000:user/{credential or 'local'}"


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _reply(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
    raw_headers = [
        (key.encode("latin-1"), value.encode("latin-1")) for key, value in headers.items()
    ]
    if not any(key == b"content-length" for key, _ in raw_headers):
        raw_headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
