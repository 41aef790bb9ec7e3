"""The local gateway runs handlers on a bounded set of worker threads, one call at a time
per function, granted in the order the calls came."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from layerserve.local.gateway import WORKERS, FunctionLock, LocalGateway, Route
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


def test_one_call_at_a_time_per_function_on_a_bounded_set_of_threads() -> None:
    """Lambda's one request per execution environment, on at most ``WORKERS`` threads."""
    release = threading.Event()
    threads: set[str] = set()
    running = 0
    most = 0

    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        nonlocal running, most
        running += 1
        most = max(most, running)
        if event["rawPath"] == "/v2/0":
            release.wait(10)  # the others queue up behind the first call meanwhile
        threads.add(threading.current_thread().name)
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
        calls = [asyncio.create_task(request(f"/v2/{n}")) for n in range(3 * WORKERS)]
        await asyncio.sleep(0.2)
        release.set()
        return await asyncio.gather(*calls)

    assert asyncio.run(main()) == [200] * 3 * WORKERS
    assert most == 1
    assert len(threads) <= WORKERS


def test_the_function_lock_is_granted_in_the_order_callers_came() -> None:
    lock = FunctionLock()
    order: list[int] = []

    def call(number: int) -> None:
        with lock:
            order.append(number)

    lock.__enter__()  # held: every caller below has to wait its turn
    waiting = []
    for number in range(8):
        thread = threading.Thread(target=call, args=(number,))
        thread.start()
        waiting.append(thread)
        deadline = time.monotonic() + 10
        while len(lock._waiting) < number + 1:  # this one is queued before the next starts
            assert time.monotonic() < deadline
            time.sleep(0.001)
    lock.__exit__(None, None, None)
    for thread in waiting:
        thread.join(10)
    assert order == list(range(8))
    with lock:  # free again once the queue is empty
        pass
