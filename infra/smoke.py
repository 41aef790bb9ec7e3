"""Smoke-test a built inference function the way Lambda runs it.

Run by ``infra/smoke.sh`` with CPython 3.12 and nothing on the path but the built runtime
layer and the function's code. It calls the real handler with API Gateway HTTP API (2.0)
events shaped by the template's routes: readiness, the model's metadata, then an inference
request built from that metadata. Exits non-zero with a one-line reason on any failure.

    python3.12 -S smoke.py MODELS_ROOT
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import io
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

SAMPLE_VALUES: dict[str, Any] = {"BOOL": True, "BYTES": "layerserve"}
MODELS_ROUTE = "ANY /v2/models/{proxy+}"  # route keys as in template.yaml
FORBIDDEN_MODULES = ("boto3", "botocore", "onnx")  # Lambda-provided or packaging-only


class SmokeError(Exception):
    """The built function did not answer as it should."""


class Context:
    """The attributes of a Lambda context object that the handler and Powertools read."""

    function_name = "layerserve-smoke"
    function_version = "$LATEST"
    memory_limit_in_mb = 2048
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:layerserve-smoke"
    aws_request_id = "5m0k3-0000-0000-0000-000000000001"
    log_group_name = "/aws/lambda/layerserve-smoke"
    log_stream_name = "smoke"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def http_event(method: str, path: str, route_key: str, body: bytes = b"") -> dict[str, Any]:
    """An HTTP API payload-format-2.0 event as API Gateway sends it for ``route_key``."""
    route = route_key.split(" ", 1)[1]
    prefix = route.removesuffix("{proxy+}")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "content-length": str(len(body)),
            "content-type": "application/json",
            "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "user-agent": "layerserve-smoke",
            "x-forwarded-for": "203.0.113.10",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "layerserve-smoke",
            },
            "requestId": f"smoke-{time.monotonic_ns()}",
            "routeKey": route_key,
            "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
        "body": body.decode("utf-8"),
        "isBase64Encoded": False,
    }
    if prefix != route:
        event["pathParameters"] = {"proxy": path.removeprefix(prefix)}
    return event


def call(handler: Any, event: dict[str, Any], emitted: list[dict[str, Any]]) -> Any:
    """Invoke ``handler``; return the JSON body of a 200 reply or raise ``SmokeError``.

    What the handler prints (Powertools' EMF metric records) must be JSON; the records are
    appended to ``emitted``.
    """
    path = event["rawPath"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        response = handler(event, Context())
    try:
        emitted.extend(json.loads(line) for line in printed.getvalue().splitlines() if line)
    except json.JSONDecodeError as exc:
        raise SmokeError(f"{path}: the handler printed a line that is not JSON: {exc}") from exc
    raw = response.get("body") or ""
    body = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode("utf-8")
    if response.get("statusCode") != 200:
        raise SmokeError(f"{path}: status {response.get('statusCode')}: {body[:300]!r}")
    return json.loads(body)


def first_model(models_root: Path) -> str:
    """Name of the first packaged model under ``models_root``."""
    manifests = sorted(models_root.glob("*/*/manifest.json"))
    if not manifests:
        raise SmokeError(f"no packaged model under {models_root}")
    return manifests[0].parent.parent.name


def sample_inputs(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """One request tensor per declared input; dynamic dimensions (-1) become 2."""
    tensors = []
    for spec in metadata["inputs"]:
        shape = [2 if dim < 0 else dim for dim in spec["shape"]]
        data = [SAMPLE_VALUES.get(spec["datatype"], 1)] * math.prod(shape)
        tensors.append({**spec, "shape": shape, "data": data})
    return tensors


def check_outputs(reply: dict[str, Any]) -> list[str]:
    """The output names of an inference reply, each with data matching its shape."""
    outputs = reply.get("outputs") or []
    if not outputs:
        raise SmokeError("inference reply has no outputs")
    for output in outputs:
        if len(output.get("data") or []) != math.prod(output["shape"]):
            raise SmokeError(f"output {output['name']}: data does not fit shape {output['shape']}")
    return [str(output["name"]) for output in outputs]


def run(models_root: Path) -> None:
    started = time.perf_counter()
    handler = importlib.import_module("app").handler
    imported = time.perf_counter()
    emitted: list[dict[str, Any]] = []
    health = http_event("GET", "/v2/health/ready", "GET /v2/health/{proxy+}")
    ready = call(handler, health, emitted)
    if ready != {"ready": True}:
        raise SmokeError(f"/v2/health/ready answered {ready}")
    name = first_model(models_root)
    metadata = call(handler, http_event("GET", f"/v2/models/{name}", MODELS_ROUTE), emitted)
    request = json.dumps({"id": "smoke", "inputs": sample_inputs(metadata)}).encode()
    path = f"/v2/models/{name}/infer"
    reply = call(handler, http_event("POST", path, MODELS_ROUTE, request), emitted)
    outputs = check_outputs(reply)
    loaded = sorted(set(FORBIDDEN_MODULES) & set(sys.modules))
    if loaded:
        raise SmokeError(f"the inference path imported {', '.join(loaded)}")
    done = time.perf_counter()
    print(  # noqa: T201 - this script reports on stdout
        f"smoke ok: python {sys.version.split()[0]}, import {imported - started:.2f} s, "
        f"first requests {done - imported:.2f} s, {name} v{reply.get('model_version')} "
        f"-> {', '.join(outputs)}, {sum('_aws' in record for record in emitted)} EMF records"
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: smoke.py MODELS_ROOT\n")
        return 2
    try:
        run(Path(argv[1]))
    except SmokeError as exc:
        sys.stderr.write(f"smoke failed: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
