"""What a batch of input lines decodes into, before it meets the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from layerserve.domain.tensors import InferRequest


@dataclass(slots=True)
class RowsItem:
    """A line of V1 values: one instance (``single``) or an ``{"instances": [...]}`` object."""

    line: int
    rows: list[Any]
    single: bool


@dataclass(slots=True)
class V2Item:
    """A line holding an Open Inference Protocol request."""

    line: int
    request: InferRequest


@dataclass(slots=True)
class ErrorItem:
    line: int
    message: str


Item = RowsItem | V2Item | ErrorItem


@dataclass(slots=True)
class LineBatch:
    """Consecutive input lines, and where the input continues after them."""

    items: list[Item]
    end_offset: int
    end_item: int


@dataclass(slots=True)
class BlockBatch:
    """Consecutive CSV rows parsed into one array (one output line per good row)."""

    lines: list[int]
    block: np.ndarray[Any, Any] | None
    errors: list[ErrorItem]
    end_offset: int
    end_item: int
    columns: int | None = None


@dataclass(slots=True)
class LineResult:
    """One output line: a result body, or an error message."""

    line: int
    body: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    fragment: bytes | None = None
    """The body already encoded as ``"key":value`` (the fast path for predictions)."""
