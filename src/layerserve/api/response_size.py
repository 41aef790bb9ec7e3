"""Lambda's response payload limit, checked before API Gateway would turn it into a 502.

Lambda refuses a synchronous response whose payload (the JSON document the handler
returns: status, headers and body) is larger than 6 MB (6,291,556 bytes); API Gateway
then answers 502 and the caller learns nothing. The payload holds a text body as a JSON
string (quotes and backslashes escaped, non-ASCII as ``\\uXXXX``) and a binary body
base64-encoded, so the check counts the body as it will travel, not as encoded here.

``LambdaPayloadLimit`` is the data plane's ``AnswerLimit`` for the inference function: the
data plane checks each answer before it is observed, so a refused answer is counted as
the caller's 400 like any other.
"""

from __future__ import annotations

import json
from typing import Final

from starlette.responses import Response

from layerserve.domain.errors import ResponseTooLargeError
from layerserve.services.data_plane import Answer, Wire

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


ADVICE: Final[dict[str, str]] = {
    "v2": "ask for binary outputs (parameters.binary_data_output), fewer outputs "
    "('outputs'), or fewer rows per request",
    "v1": "send fewer instances, or use the V2 route with binary outputs",
}
"""What a caller can do about an answer too large to return, by protocol."""


def answer_response(answer: Answer) -> Response:
    """The HTTP response that carries ``answer``."""
    if answer.header_length is None:
        return Response(answer.body, media_type=answer.content_type)
    headers = {"Inference-Header-Content-Length": str(answer.header_length)}
    return Response(answer.body, media_type=answer.content_type, headers=headers)


class LambdaPayloadLimit:
    """``ResponseTooLargeError`` (the caller's: it asked for this much) for an answer whose
    Lambda response payload would pass ``limit`` bytes."""

    def __init__(self, limit: int = LAMBDA_RESPONSE_LIMIT) -> None:
        self.limit = limit

    def check(self, protocol: Wire, answer: Answer) -> None:
        if len(answer.body) * _WORST_TEXT_GROWTH + 4096 < self.limit:  # cannot be near it
            return
        size = payload_size(answer_response(answer))
        if size > self.limit:
            raise ResponseTooLargeError(
                f"the response would be {size} bytes, over the {self.limit}-byte response "
                f"limit by {size - self.limit} bytes; {ADVICE[protocol]}"
            )


def payload_size(response: Response) -> int:
    """Bytes of the Lambda response payload that will carry ``response``."""
    headers = dict(response.headers.items())
    envelope = len(json.dumps({"statusCode": response.status_code, "headers": headers}))
    return envelope + _ENVELOPE_SLACK + _body_size(bytes(response.body), headers)


def _body_size(body: bytes, headers: dict[str, str]) -> int:
    content_type = headers.get("content-type", "")
    if any(kind in content_type for kind in TEXT_TYPES):
        try:
            return len(json.dumps(body.decode("utf-8"))) - 2  # without the quotes
        except UnicodeDecodeError:
            pass  # Mangum base64-encodes a text body that is not UTF-8
    return 4 * ((len(body) + 2) // 3)
