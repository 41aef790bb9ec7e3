"""CloudWatch Logs subscription payloads: ``{"awslogs": {"data": base64(gzip(json))}}``."""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from layerserve.domain.errors import InvalidInputError
from layerserve.services.metrics.aggregation import LogEvent

MAX_DECOMPRESSED = 64 * 1024 * 1024
DATA_MESSAGE = "DATA_MESSAGE"
CONTROL_MESSAGE = "CONTROL_MESSAGE"


@dataclass(frozen=True, slots=True)
class LogBatch:
    message_type: str
    log_group: str
    log_stream: str
    events: list[LogEvent]


def decode_subscription(event: Mapping[str, Any]) -> LogBatch:
    """The log events of one delivery (none for the control message sent at subscribe)."""
    try:
        compressed = base64.b64decode(event["awslogs"]["data"], validate=True)
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        raw = inflater.decompress(compressed, MAX_DECOMPRESSED)
        if inflater.unconsumed_tail:
            raise InvalidInputError(f"log delivery inflates past {MAX_DECOMPRESSED} bytes")
        document = orjson.loads(raw)
        return LogBatch(
            message_type=str(document["messageType"]),
            log_group=str(document.get("logGroup", "")),
            log_stream=str(document.get("logStream", "")),
            events=[_event(item) for item in document.get("logEvents") or []],
        )
    except (KeyError, TypeError, ValueError, binascii.Error, zlib.error) as exc:
        raise InvalidInputError(f"not a CloudWatch Logs subscription payload: {exc}") from exc


def encode_subscription(
    events: Sequence[LogEvent],
    log_group: str = "/aws/lambda/inference",
    log_stream: str = "local",
) -> dict[str, Any]:
    """The payload CloudWatch Logs would deliver for ``events`` (local stack, tests)."""
    document = {
        "messageType": DATA_MESSAGE,
        "owner": "000000000000",
        "logGroup": log_group,
        "logStream": log_stream,
        "subscriptionFilters": ["metrics"],
        "logEvents": [{"id": e.id, "timestamp": e.timestamp, "message": e.message} for e in events],
    }
    data = base64.b64encode(gzip.compress(orjson.dumps(document))).decode("ascii")
    return {"awslogs": {"data": data}}


def _event(item: Mapping[str, Any]) -> LogEvent:
    return LogEvent(id=str(item["id"]), timestamp=int(item["timestamp"]), message=item["message"])
