"""CSV input for single-input tabular models: one row per line, an optional header line.

The model input is ``[batch, features]`` (one column per feature) or ``[batch]`` (one
column). A first line that is not numeric is a header and gets no output line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, Final

import numpy as np
import orjson

from layerserve.domain.datatypes import numpy_dtype
from layerserve.domain.errors import InvalidInputError
from layerserve.domain.manifest import Signature, TensorSpec
from layerserve.services.batch.lines import Line
from layerserve.services.batch.records import BlockBatch, ErrorItem


@dataclass(frozen=True, slots=True)
class CsvSchema:
    spec: TensorSpec
    dtype: np.dtype[Any]
    columns: int | None
    """Fixed by the model, or ``None`` until the first row fixes it."""

    @classmethod
    def of(cls, signature: Signature) -> CsvSchema:
        if len(signature.inputs) != 1:
            names = ", ".join(spec.name for spec in signature.inputs)
            raise InvalidInputError(f"CSV input needs a single-input model; this one takes {names}")
        spec = signature.inputs[0]
        if spec.datatype in ("BYTES", "BOOL") or len(spec.shape) not in (1, 2):
            raise InvalidInputError(
                f"CSV input needs a numeric input of shape [batch] or [batch, features]; "
                f"'{spec.name}' is {spec.datatype} of rank {len(spec.shape)}"
            )
        columns: int | None = 1
        if len(spec.shape) == 2:
            dim = spec.shape[1]
            columns = dim if isinstance(dim, int) and dim >= 0 else None
        return cls(spec, numpy_dtype(spec.datatype), columns)


_PLAIN_NUMBERS: Final = re.compile(r"[-+.,0-9eE \t\n]*")


def _parse(texts: list[str], dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """Rows of plain decimal numbers go through the JSON parser (several times faster than
    ``loadtxt``); anything else (quotes, ``nan``, ...) through ``loadtxt``."""
    if dtype.kind == "f" and _PLAIN_NUMBERS.fullmatch("\n".join(texts)):
        try:
            parsed = orjson.loads("[[" + "],[".join(texts) + "]]")
            block = np.array(parsed, dtype=dtype)
        except (orjson.JSONDecodeError, ValueError, TypeError):
            pass
        else:
            if block.ndim == 2:
                return block
    return np.loadtxt(texts, delimiter=",", dtype=dtype, ndmin=2, quotechar='"', comments=None)


def _parse_one(text: str, dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    fields = next(csv.reader([text]), [])
    if not fields:
        raise InvalidInputError("empty line")
    try:
        return np.asarray(fields, dtype=str).astype(dtype)
    except (ValueError, OverflowError, TypeError) as exc:
        raise InvalidInputError(f"not a numeric CSV row: {exc}") from None


def is_header(raw: bytes) -> bool:
    text = raw.decode("utf-8", "replace")
    try:
        _parse_one(text, np.dtype(np.float64))
    except InvalidInputError:
        return True
    return False


class CsvBatcher:
    def __init__(self, schema: CsvSchema, columns: int | None) -> None:
        self._schema = schema
        self.columns = schema.columns or columns

    def batches(self, lines: Iterator[Line], first_item: int, size: int) -> Iterator[BlockBatch]:
        item = first_item
        while True:
            chunk = list(islice(lines, size))
            if not chunk:
                return
            numbers = range(item + 1, item + len(chunk) + 1)
            item += len(chunk)
            batch = self._block([raw for raw, _ in chunk], list(numbers))
            batch.end_offset, batch.end_item = chunk[-1][1], item
            yield batch

    def _block(self, raws: list[bytes | None], numbers: list[int]) -> BlockBatch:
        texts: list[str] = []
        lines: list[int] = []
        errors: list[ErrorItem] = []
        for raw, number in zip(raws, numbers, strict=True):
            if number == 1 and raw is not None and is_header(raw):
                continue
            text = self._text(raw, number, errors)
            if text is not None:
                texts.append(text)
                lines.append(number)
        block = self._fast(texts)
        if block is None:
            return self._slow(texts, lines, errors)
        return BlockBatch(lines, block, errors, 0, 0)

    def _text(self, raw: bytes | None, number: int, errors: list[ErrorItem]) -> str | None:
        if raw is None:
            errors.append(ErrorItem(number, "line is too long"))
            return None
        try:
            text = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            errors.append(ErrorItem(number, "line is not UTF-8"))
            return None
        if not text.strip():
            errors.append(ErrorItem(number, "empty line"))
            return None
        return text

    def _fast(self, texts: list[str]) -> np.ndarray[Any, Any] | None:
        if not texts:
            return None
        try:
            block = _parse(texts, self._schema.dtype)
        except Exception:  # any row may be hostile: the slow path finds which
            return None
        if block.shape[0] != len(texts) or not self._fits(block.shape[1]):
            return None
        return self._shaped(block)

    def _slow(self, texts: list[str], lines: list[int], errors: list[ErrorItem]) -> BlockBatch:
        rows: list[np.ndarray[Any, Any]] = []
        good: list[int] = []
        for text, number in zip(texts, lines, strict=True):
            try:
                row = _parse_one(text, self._schema.dtype)
            except InvalidInputError as exc:
                errors.append(ErrorItem(number, exc.message))
                continue
            if not self._fits(row.shape[0]):
                errors.append(
                    ErrorItem(number, f"row has {row.shape[0]} columns, expected {self.columns}")
                )
                continue
            rows.append(row)
            good.append(number)
        block = self._shaped(np.stack(rows)) if rows else None
        return BlockBatch(good, block, sorted(errors, key=lambda e: e.line), 0, 0)

    def _fits(self, columns: int) -> bool:
        if self.columns is None:
            self.columns = columns
        return columns == self.columns

    def _shaped(self, block: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return block.reshape(-1) if len(self._schema.spec.shape) == 1 else block
