"""The local gateway runs each function's handler on its own worker thread, one call at a
time, in the order requests arrive."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from layerserve.local.gateway import LocalGateway, Route
from tests.conftest import Invoke
from tests.servers import serving

BODY = json.dumps(
    {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 16], "data": [0.5] * 16}]}
).encode()


def test_concurrent_requests_on_fresh_worker_threads_all_succeed(
    inference_handler: Invoke,
) -> None:
    def handler(event: dict[str, object], context: object) -> dict[str, object]:
        return inference_handler(event)

    def call(url: str) -> int:
        request = urllib.request.Request(
            f"http://{url}/v2/models/mlp/infer", BODY, {"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            status: int = response.status
            return status

    gateway = LocalGateway([Route("/v2", handler)])
    with serving(gateway) as url, ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(call, [url] * 64))
    assert statuses == [200] * 64


def test_one_call_at_a_time_per_function_in_arrival_order_on_one_thread() -> None:
    """Lambda's one request per execution environment, served first come, first served."""
    release = threading.Event()
    served: list[tuple[str, str]] = []
    running = 0
    most = 0

    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        nonlocal running, most
        running += 1
        most = max(most, running)
        if event["rawPath"] == "/v2/0":
            release.wait(10)  # the others queue up behind the first call meanwhile
        served.append((event["rawPath"], threading.current_thread().name))
        running -= 1
        return {"statusCode": 200, "body": ""}

    gateway = LocalGateway([Route("/v2", handler)])

    async def request(path: str) -> int:
        replies: list[MutableMapping[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            replies.append(message)

        scope = {"type": "http", "method": "GET", "path": path, "headers": []}
        await gateway(scope, receive, send)
        return int(replies[0]["status"])

    async def main() -> list[int]:
        calls = [asyncio.create_task(request(f"/v2/{n}")) for n in range(12)]
        await asyncio.sleep(0.2)
        release.set()
        return await asyncio.gather(*calls)

    assert asyncio.run(main()) == [200] * 12
    assert [path for path, _ in served] == [f"/v2/{n}" for n in range(12)]
    assert len({thread for _, thread in served}) == 1
    assert most == 1
