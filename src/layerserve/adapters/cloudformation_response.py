"""The answer to a CloudFormation custom resource request: a PUT to its pre-signed URL.

CloudFormation waits for this PUT (up to an hour) before it moves the stack on, so
sending it is retried a few times; the body must stay under 4096 bytes.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Mapping
from typing import Any, Final
from urllib.error import URLError

import orjson
from aws_lambda_powertools import Logger

MAX_BODY_BYTES: Final = 4096
ATTEMPTS: Final = 4

logger = Logger(service="registry")


def put_response(
    url: str, body: Mapping[str, Any], *, timeout_s: float = 10.0, backoff_s: float = 0.5
) -> bool:
    """PUT ``body`` as JSON to ``url``; ``False`` when every attempt failed."""
    data = orjson.dumps(body)
    if len(data) > MAX_BODY_BYTES:
        raise ValueError(f"custom resource response of {len(data)} bytes is over 4096")
    for attempt in range(ATTEMPTS):
        # The URL is signed for an empty content type: send exactly that.
        request = urllib.request.Request(url, data=data, method="PUT")
        request.add_header("Content-Type", "")
        request.add_header("Content-Length", str(len(data)))
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as reply:
                if 200 <= reply.status < 300:
                    return True
                logger.warning("custom resource response refused", extra={"status": reply.status})
        except (URLError, OSError) as exc:
            logger.warning("custom resource response not sent", extra={"error": str(exc)})
        if attempt + 1 < ATTEMPTS:
            time.sleep(backoff_s * 2**attempt)
    return False
