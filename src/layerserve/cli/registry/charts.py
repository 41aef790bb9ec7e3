"""Small terminal charts: unicode sparklines of per-minute series."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

BLOCKS: Final = "▁▂▃▄▅▆▇█"
GAP: Final = " "
MAX_WIDTH: Final = 60

Reduce = Callable[[list[float]], float]


def sparkline(values: Sequence[float | None]) -> str:
    """One block per value, scaled from 0 to the largest value; ``None`` is a gap."""
    present = [v for v in values if v is not None]
    top = max(present, default=0.0)
    if top <= 0:
        return "".join(GAP if v is None else BLOCKS[0] for v in values)
    last = len(BLOCKS) - 1
    return "".join(
        GAP if v is None else BLOCKS[min(last, max(0, math.ceil(v / top * last)))] for v in values
    )


def minute_columns(start: datetime, end: datetime, width: int = MAX_WIDTH) -> tuple[int, int, int]:
    """``(first epoch minute, minutes per column, columns)`` covering ``[start, end]``.

    A window of ``n`` minutes touches ``n + 1``: such a window gets ``width + 1`` columns.
    """
    first = int(start.timestamp()) // 60
    minutes = int(end.timestamp()) // 60 - first + 1
    per_column = max(1, math.ceil((minutes - 1) / width))
    return first, per_column, math.ceil(minutes / per_column)


def series_columns(
    points: list[dict[str, Any]],
    key: str,
    start: datetime,
    end: datetime,
    reduce: Reduce,
    width: int = MAX_WIDTH,
) -> list[float | None]:
    """``key`` of per-minute ``points`` laid on columns over the window, reduced per column.

    A column without a value for ``key`` is ``None`` (drawn as a gap).
    """
    first, per_column, count = minute_columns(start, end, width)
    columns: list[list[float]] = [[] for _ in range(count)]
    for point in points:
        minute = int(datetime.fromisoformat(point["minute"]).timestamp()) // 60
        index = (minute - first) // per_column
        if 0 <= index < count and point.get(key) is not None:
            columns[index].append(float(point[key]))
    return [reduce(column) if column else None for column in columns]


def requests_line(points: list[dict[str, Any]], start: datetime, end: datetime) -> str:
    """Requests per column; a column without traffic is the lowest block, not a gap."""
    values = series_columns(points, "requests", start, end, sum)
    return sparkline([0.0 if v is None else v for v in values])


def p99_line(points: list[dict[str, Any]], start: datetime, end: datetime) -> str:
    """The worst per-minute p99 of each column; no traffic is a gap."""
    return sparkline(series_columns(points, "p99_ms", start, end, max))
