"""Real API Gateway event shapes (tests/events/*.json) filled in for one request."""

from __future__ import annotations

import base64
import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from layerserve.local.events import HttpReply, decode_reply

EVENTS = Path(__file__).parent / "events"


@cache
def _template(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def http_api_event(
    method: str,
    path: str,
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An HTTP API payload-format-2.0 event, as API Gateway sends it."""
    event = copy.deepcopy(_template("http_api_v2.json"))
    raw = _bytes(body)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["headers"].update({key.lower(): value for key, value in (headers or {}).items()})
    event["headers"]["content-length"] = str(len(raw))
    _set_body(event, raw, base64_body)
    return event


def rest_api_event(
    method: str,
    path: str,
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """A REST API (payload format 1.0) proxy event, as API Gateway sends it."""
    event = copy.deepcopy(_template("rest_api_v1.json"))
    raw = _bytes(body)
    event["path"] = path
    event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["requestContext"]["path"] = "/prod" + path
    for key, value in (headers or {}).items():
        event["headers"][key] = value
        event["multiValueHeaders"][key] = [value]
    _set_body(event, raw, base64_body)
    return event


def reply(response: dict[str, Any]) -> HttpReply:
    return decode_reply(response)


def reply_json(response: dict[str, Any]) -> Any:
    return orjson.loads(decode_reply(response).body)


def _bytes(body: bytes | dict[str, Any] | None) -> bytes:
    if body is None:
        return b""
    return body if isinstance(body, bytes) else orjson.dumps(body)


def _set_body(event: dict[str, Any], raw: bytes, base64_body: bool) -> None:
    event["isBase64Encoded"] = base64_body
    event["body"] = base64.b64encode(raw).decode() if base64_body else raw.decode("utf-8")
