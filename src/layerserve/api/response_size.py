"""Lambda's response payload limit, checked before API Gateway would turn it into a 502.

Lambda refuses a synchronous response whose payload (the JSON document the handler
returns: status, headers and body) is larger than 6 MB (6,291,556 bytes); API Gateway
then answers 502 and the caller learns nothing. The payload holds a text body as a JSON
string (quotes and backslashes escaped, non-ASCII as ``\\uXXXX``) and a binary body
base64-encoded, so the check counts the body as it will travel, not as encoded here.
"""

from __future__ import annotations

import json
from typing import Final

from starlette.responses import Response

from layerserve.domain.errors import ResponseTooLargeError

LAMBDA_RESPONSE_LIMIT: Final = 6_291_556
"""Bytes Lambda accepts as a synchronous invocation's response payload."""
TEXT_TYPES: Final = ("text/", "application/json")
"""Content types Mangum returns as text; every other body is base64-encoded."""
_ENVELOPE_SLACK: Final = 256
"""Fields the adapter adds besides status, headers and body (``isBase64Encoded``,
``cookies``, ``multiValueHeaders``)."""
_WORST_TEXT_GROWTH: Final = 3
"""A JSON body escaped as a JSON string grows at most 3-fold: a 2-byte UTF-8 character
becomes a 6-byte ``\\uXXXX`` (control characters are already escaped in JSON)."""


def payload_size(response: Response) -> int:
    """Bytes of the Lambda response payload that will carry ``response``."""
    headers = dict(response.headers.items())
    envelope = len(json.dumps({"statusCode": response.status_code, "headers": headers}))
    return envelope + _ENVELOPE_SLACK + _body_size(bytes(response.body), headers)


def check_response_size(response: Response, limit: int, advice: str) -> None:
    """``ResponseTooLargeError`` (the caller's: it asked for this much) past ``limit``."""
    body = bytes(response.body)
    if len(body) * _WORST_TEXT_GROWTH + 4096 < limit:  # cannot be near the limit
        return
    size = payload_size(response)
    if size > limit:
        raise ResponseTooLargeError(
            f"the response would be {size} bytes, over the {limit}-byte response limit "
            f"by {size - limit} bytes; {advice}"
        )


def _body_size(body: bytes, headers: dict[str, str]) -> int:
    content_type = headers.get("content-type", "")
    if any(kind in content_type for kind in TEXT_TYPES):
        try:
            return len(json.dumps(body.decode("utf-8"))) - 2  # without the quotes
        except UnicodeDecodeError:
            pass  # Mangum base64-encodes a text body that is not UTF-8
    return 4 * ((len(body) + 2) // 3)
