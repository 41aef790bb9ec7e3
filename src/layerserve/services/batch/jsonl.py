"""JSON Lines input: each line a V2 request, an ``{"instances": [...]}`` object or one instance."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

import orjson

from layerserve.protocol import decode_infer_request
from layerserve.services.batch.failures import line_error
from layerserve.services.batch.lines import Line
from layerserve.services.batch.records import ErrorItem, Item, LineBatch, RowsItem, V2Item


def decode_line(raw: bytes | None, number: int, max_line: int) -> Item:
    """A line as an item; whatever is wrong with it becomes an ``ErrorItem``. A V2 line is
    decoded by the HTTP route's rules (``protocol.v2``: same datatypes, same errors)."""
    if raw is None:
        return ErrorItem(number, f"line is longer than {max_line} bytes")
    if not raw or raw.isspace():
        return ErrorItem(number, "empty line")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return ErrorItem(number, f"not valid JSON: {exc}")
    if isinstance(document, dict) and "inputs" in document:
        try:
            return V2Item(number, decode_infer_request(raw))
        except Exception as exc:
            return ErrorItem(number, line_error(exc, f"line {number}"))
    if isinstance(document, dict) and "instances" in document:
        instances = document["instances"]
        if not isinstance(instances, list) or not instances:
            return ErrorItem(number, "'instances' must be a non-empty list")
        return RowsItem(number, instances, single=False)
    return RowsItem(number, [document], single=True)


def jsonl_batches(
    lines: Iterator[Line], first_item: int, batch_size: int, max_line: int
) -> Iterator[LineBatch]:
    """Batches of ``batch_size`` lines; ``first_item`` is the 0-based index of the first line."""
    item = first_item
    while True:
        chunk = list(islice(lines, batch_size))
        if not chunk:
            return
        items = [
            decode_line(raw, item + index + 1, max_line) for index, (raw, _) in enumerate(chunk)
        ]
        item += len(chunk)
        yield LineBatch(items, chunk[-1][1], item)
