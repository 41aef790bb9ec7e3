"""API Gateway event shapes, as Lambda receives them, and their responses."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")


def http_api_event(
    method: str,
    path: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    query: str = "",
    iam_arn: str | None = None,
) -> dict[str, Any]:
    """An HTTP API (payload format 2.0) event; binary bodies are base64-encoded."""
    lowered = {key.lower(): value for key, value in (headers or {}).items()}
    text = _as_text(body, lowered)
    context: dict[str, Any] = {
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": lowered.get("host", "localhost"),
        "domainPrefix": "local",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": lowered.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": "$default",
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
        "timeEpoch": int(time.time() * 1000),
    }
    if iam_arn is not None:
        context["authorizer"] = {
            "iam": {"userArn": iam_arn, "callerId": iam_arn.rsplit("/", 1)[-1]}
        }
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": context,
        "body": base64.b64encode(body).decode() if text is None else text,
        "isBase64Encoded": text is None,
    }


def _as_text(body: bytes, headers: Mapping[str, str]) -> str | None:
    """The body as text, or ``None`` when it must travel base64-encoded.

    As API Gateway does, only an uncompressed body of a text content type that is
    valid UTF-8 passes as text; anything else (gzip, deflate, binary tensors sent with
    curl's default form content type, ...) is base64 with ``isBase64Encoded``.
    """
    if not body:
        return ""
    is_text = any(headers.get("content-type", "").startswith(kind) for kind in _TEXT_TYPES)
    if not is_text or headers.get("content-encoding", "identity").lower() != "identity":
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int
    headers: dict[str, str]
    body: bytes


def decode_reply(response: Mapping[str, Any]) -> HttpReply:
    """A Lambda proxy response (v1 or v2) as status, headers and raw body bytes."""
    raw = response.get("body") or ""
    body = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode("utf-8")
    headers = {key.lower(): str(value) for key, value in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ", ".join(str(value) for value in values)
    return HttpReply(int(response["statusCode"]), headers, body)


@dataclass(slots=True)
class FakeLambdaContext:
    """The attributes of a Lambda context object that handlers and Powertools read."""

    function_name: str = "layerserve-local"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:layerserve-local"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/layerserve-local"
    log_stream_name: str = "local"
    remaining_ms: int = 900_000
    """What ``get_remaining_time_in_millis`` answers (tests shorten it)."""

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms
