"""The local gateway runs each Lambda handler on a worker thread, as many as it needs."""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

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
