"""A local stand-in for API Gateway: HTTP in, Lambda proxy events through real handlers.

Each handler runs in a worker thread behind its function's lock, as one Lambda execution
environment serves one request at a time. The lock is handed to its waiters in the order
they came (a plain lock lets any waiter, or a newcomer, take it next, which starved some
requests into a long tail under concurrent clients), and the gateway runs at most
``WORKERS`` threads, not the 40 of the default pool, each of which grew memory of its own.
A route with an authoriser (``local.auth``: SigV4 or JWT) answers what API Gateway would
to a request it refuses, and passes the verified identity in ``requestContext.authorizer``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread

from layerserve.adapters.lambda_handler import Handler
from layerserve.local.auth import Authorizer, AuthRefusal, AuthRequest
from layerserve.local.events import FakeLambdaContext, decode_reply, http_api_event

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
WORKERS = 8
"""Threads for handler calls, waiting ones included: more clients queue on the loop."""


class FunctionLock:
    """One call at a time, granted first come, first served and handed straight on."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._busy = False
        self._waiting: deque[threading.Lock] = deque()

    def __enter__(self) -> None:
        with self._mutex:
            if not self._busy:
                self._busy = True
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        turn.acquire()  # released by the holder before us, which hands us the lock

    def __exit__(self, *_: object) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._busy = False


@dataclass(slots=True)
class Route:
    prefix: str
    handler: Handler
    auth: Authorizer | None = None
    lock: FunctionLock = field(default_factory=FunctionLock)


class LocalGateway:
    def __init__(self, routes: Sequence[Route]) -> None:
        # Longest prefix first, so /v2/models wins over /v2.
        self._routes = sorted(routes, key=lambda route: len(route.prefix), reverse=True)
        self._workers: anyio.CapacityLimiter | None = None  # made on the server's loop

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
        query = scope.get("query_string", b"").decode("latin-1")
        try:
            authorizer = _authorize(route, scope, query, headers, body)
        except AuthRefusal as refusal:
            message = json.dumps({"message": refusal.message}).encode()
            await _reply(send, refusal.status, {"content-type": "application/json"}, message)
            return
        event = http_api_event(scope["method"], scope["path"], body, headers, query)
        if authorizer is not None:
            event["requestContext"]["authorizer"] = authorizer
        if self._workers is None:
            self._workers = anyio.CapacityLimiter(WORKERS)
        reply = await anyio.to_thread.run_sync(_invoke, route, event, limiter=self._workers)
        await _reply(send, reply.status, reply.headers, reply.body)

    def _match(self, path: str) -> Route | None:
        return next((route for route in self._routes if path.startswith(route.prefix)), None)


_worker = threading.local()


def _invoke(route: Route, event: dict[str, Any]) -> Any:
    _ensure_event_loop()
    with route.lock:
        return decode_reply(route.handler(event, FakeLambdaContext()))


def _ensure_event_loop() -> None:
    """Lambda calls a handler on the main thread, whose event loop Mangum uses; here
    handlers run on worker threads, each of which needs its own loop for Mangum."""
    if getattr(_worker, "loop", None) is None:
        _worker.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_worker.loop)


def _authorize(
    route: Route, scope: Scope, query: str, headers: dict[str, str], body: bytes
) -> dict[str, Any] | None:
    """The route's verified identity (``None`` for an open route); ``AuthRefusal`` else."""
    if route.auth is None:
        return None
    raw_path = scope.get("raw_path") or scope["path"].encode()
    request = AuthRequest(scope["method"], raw_path.decode("latin-1"), query, headers, body)
    return route.auth(request)


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
