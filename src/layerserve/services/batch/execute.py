"""Running decoded lines through the model in batches, one result per line.

Compatible lines are concatenated along the batch axis and run together; outputs are
split back by each line's row count. A group that fails in any way a line's data can
cause is halved, and the halves run again, until each failing line stands alone and
gets its error entry: ``k`` bad lines among ``n`` cost about ``2k log2(n/k)`` extra runs,
and the good lines still run in large batches. Outages raise (see ``failures``).
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from layerserve.domain.errors import InvalidInputError
from layerserve.domain.tensors import InferInput, InferRequest, RequestedOutput, check_inputs
from layerserve.protocol import PredictionRows, decode_instances, json_outputs
from layerserve.services.batch import encode
from layerserve.services.batch.failures import fails_more_than_the_line, line_error
from layerserve.services.batch.records import (
    ErrorItem,
    Item,
    LineResult,
    RowsItem,
    V2Item,
)
from layerserve.services.catalog import Resolution
from layerserve.services.inference import InferenceService

Arrays = dict[str, np.ndarray[Any, Any]]


@dataclass(slots=True)
class _Unit:
    """One line's decoded request, waiting to join a group."""

    position: int
    item: RowsItem | V2Item
    request: InferRequest

    @property
    def rows(self) -> int:
        return self.request.inputs[0].shape[0]


class BatchExecutor:
    def __init__(self, service: InferenceService, resolution: Resolution) -> None:
        self._service = service
        self._resolution = resolution
        self._signature = resolution.record.manifest.signature
        self._batchable = all(
            spec.shape and not (isinstance(spec.shape[0], int) and spec.shape[0] >= 0)
            for spec in self._signature.inputs
        )
        self.infer_s = 0.0

    # --- JSON Lines -----------------------------------------------------------------------
    def run_lines(self, items: list[Item]) -> list[LineResult]:
        results: list[LineResult | None] = [None] * len(items)
        rows: list[tuple[int, RowsItem]] = []
        units: list[_Unit] = []
        for position, item in enumerate(items):
            if isinstance(item, ErrorItem):
                results[position] = LineResult(item.line, error=item.message)
            elif isinstance(item, RowsItem):
                rows.append((position, item))
            else:
                units.append(_Unit(position, item, item.request))
        units.extend(self._rows_fast(rows, results))
        self._run_units(units, results)
        return [result for result in results if result is not None]

    def _rows_fast(
        self, rows: list[tuple[int, RowsItem]], results: list[LineResult | None]
    ) -> list[_Unit]:
        """Decode all instance lines in one go; on any trouble decode them one by one."""
        if not rows:
            return []
        if self._batchable and len(rows) > 1:
            try:
                request = decode_instances(
                    [row for _, item in rows for row in item.rows], self._signature
                )
                check_inputs(self._signature, request.inputs)
                outputs = self._infer(request)
            except Exception as exc:
                if fails_more_than_the_line(exc):
                    raise
            else:
                counts = [len(item.rows) for _, item in rows]
                if _splittable(outputs, sum(counts)):
                    self._fill(results, [(p, i) for p, i in rows], counts, outputs)
                    return []
        units = []
        for position, item in rows:
            try:
                request = decode_instances(item.rows, self._signature)
                check_inputs(self._signature, request.inputs)
            except Exception as exc:
                results[position] = LineResult(
                    item.line, error=line_error(exc, f"line {item.line}")
                )
                continue
            units.append(_Unit(position, item, request))
        return units

    def _run_units(self, units: list[_Unit], results: list[LineResult | None]) -> None:
        groups: dict[Hashable, list[_Unit]] = {}
        for unit in units:
            key = self._group_key(unit)
            groups.setdefault(key if key is not None else ("alone", unit.position), []).append(unit)
        for group in groups.values():
            self._run_group(group, results)

    def _group_key(self, unit: _Unit) -> Hashable | None:
        request = unit.request
        if isinstance(unit.item, V2Item):
            try:
                check_inputs(self._signature, request.inputs)
            except Exception:
                return None  # runs alone and reports its own error
        if not self._batchable or any(not item.shape for item in request.inputs):
            return None
        if len({item.shape[0] for item in request.inputs}) != 1:
            return None
        inputs = tuple(sorted((i.name, i.datatype, i.shape[1:]) for i in request.inputs))
        outputs = tuple(out.name for out in request.outputs or ())
        return (isinstance(unit.item, V2Item), inputs, outputs)

    def _run_group(self, group: list[_Unit], results: list[LineResult | None]) -> None:
        """Run ``group`` as one batch; if that fails, halve it until the failures stand alone."""
        try:
            outputs = self._infer(_concatenate(group) if len(group) > 1 else group[0].request)
        except Exception as exc:
            self._split(group, results, exc)
            return
        counts = [unit.rows for unit in group]
        if len(group) > 1 and not _splittable(outputs, sum(counts)):
            for unit in group:  # the outputs lost the batch axis: only single lines can run
                self._run_group([unit], results)
            return
        try:
            self._fill(results, [(u.position, u.item) for u in group], counts, outputs)
        except Exception as exc:
            self._split(group, results, exc)

    def _split(self, group: list[_Unit], results: list[LineResult | None], exc: Exception) -> None:
        if len(group) == 1:
            unit = group[0]
            line = unit.item.line
            results[unit.position] = LineResult(line, error=line_error(exc, f"line {line}"))
            return
        if fails_more_than_the_line(exc):
            raise exc
        half = len(group) // 2
        self._run_group(group[:half], results)
        self._run_group(group[half:], results)

    def _fill(
        self,
        results: list[LineResult | None],
        members: list[tuple[int, RowsItem | V2Item]],
        counts: list[int],
        outputs: Arrays,
    ) -> None:
        start = 0
        single = len(members) == 1
        rows = PredictionRows(outputs)
        for (position, item), count in zip(members, counts, strict=True):
            stop = start + count
            line = item.line
            if isinstance(item, V2Item):
                part = outputs if single else {k: v[start:stop] for k, v in outputs.items()}
                results[position] = LineResult(line, json_outputs(part, item.request.id))
            elif item.single:
                results[position] = LineResult(line, fragment=encode.prediction(rows, start))
            elif single:
                results[position] = LineResult(line, fragment=encode.all_predictions(outputs))
            else:
                fragment = encode.row_predictions(rows, start, stop)
                results[position] = LineResult(line, fragment=fragment)
            start = stop

    # --- blocks and arrays ----------------------------------------------------------------
    def run_block(self, lines: list[int], block: np.ndarray[Any, Any]) -> list[LineResult]:
        """CSV rows as one array: one ``prediction`` per row; a failing block is halved
        until the failing rows stand alone."""
        spec = self._signature.inputs[0]
        try:
            outputs = self._infer(
                InferRequest([InferInput(spec.name, spec.datatype, block.shape, block)])
            )
            if len(lines) > 1 and not _splittable(outputs, len(lines)):
                return [
                    r for i, n in enumerate(lines) for r in self.run_block([n], block[i : i + 1])
                ]
            rows = PredictionRows(outputs)
            return [
                LineResult(line, fragment=encode.prediction(rows, i))
                for i, line in enumerate(lines)
            ]
        except Exception as exc:
            if len(lines) == 1:
                return [LineResult(lines[0], error=line_error(exc, f"line {lines[0]}"))]
            if fails_more_than_the_line(exc):
                raise
        half = len(lines) // 2
        return self.run_block(lines[:half], block[:half]) + self.run_block(
            lines[half:], block[half:]
        )

    def run_arrays(self, feeds: Arrays, output: str, first_row: int = 0) -> np.ndarray[Any, Any]:
        """One output of the model over array rows (``first_row`` numbers them in messages).

        A failing batch is halved until it runs or a single row fails: that row, the
        first one the model rejects, ends the job (an ``.npz`` has no room for per-row
        errors, and its arrays must keep every row)."""
        rows = len(next(iter(feeds.values())))
        try:
            return self._array_run(feeds, output)
        except Exception as exc:
            if rows == 1:
                message = line_error(exc, f"array row {first_row}")
                raise InvalidInputError(f"array row {first_row}: {message}") from exc
            if fails_more_than_the_line(exc):
                raise
        half = rows // 2
        left = self.run_arrays({k: v[:half] for k, v in feeds.items()}, output, first_row)
        right = self.run_arrays({k: v[half:] for k, v in feeds.items()}, output, first_row + half)
        if not (_splittable({output: left}, half) and _splittable({output: right}, rows - half)):
            raise InvalidInputError(f"model output '{output}' does not keep the batch axis")
        return np.concatenate([left, right])

    def _array_run(self, feeds: Arrays, output: str) -> np.ndarray[Any, Any]:
        inputs = []
        for spec in self._signature.inputs:
            array = feeds[spec.name]
            inputs.append(InferInput(spec.name, spec.datatype, array.shape, array))
        outputs = self._infer(InferRequest(inputs, outputs=[RequestedOutput(output)]))
        return outputs[output]

    def _infer(self, request: InferRequest) -> Arrays:
        started = time.perf_counter()
        try:
            return self._service.infer(self._resolution, request).outputs
        finally:
            self.infer_s += time.perf_counter() - started


def _splittable(outputs: Arrays, rows: int) -> bool:
    """Whether every output keeps the batch axis, so rows can go back to their lines."""
    return all(array.ndim and array.shape[0] == rows for array in outputs.values())


def _concatenate(group: list[_Unit]) -> InferRequest:
    first = group[0].request
    named = [{item.name: item.array for item in unit.request.inputs} for unit in group]
    inputs = []
    for item in first.inputs:
        array = np.concatenate([arrays[item.name] for arrays in named])
        inputs.append(InferInput(item.name, item.datatype, array.shape, array))
    return InferRequest(inputs, outputs=first.outputs)
