"""One segment of a job: read from the saved position, run batches, write, checkpoint.

A segment stops early only at a checkpoint (a part was just uploaded) when the
invocation runs short of time; the position it reports is where the next one starts.
This module runs line inputs (JSON Lines, CSV); ``array_pipeline`` runs arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from layerserve.domain.batch import InputFormat
from layerserve.domain.manifest import Manifest
from layerserve.services.batch.csv_rows import CsvBatcher, CsvSchema
from layerserve.services.batch.encode import LineEncoder
from layerserve.services.batch.execute import BatchExecutor
from layerserve.services.batch.failures import line_error
from layerserve.services.batch.jsonl import jsonl_batches
from layerserve.services.batch.lines import split_lines
from layerserve.services.batch.ports import Clock, ObjectReader
from layerserve.services.batch.records import BlockBatch, LineBatch, LineResult
from layerserve.services.batch.sink import PartSink
from layerserve.services.batch.state import Job, Progress


@dataclass(frozen=True, slots=True)
class SegmentLimits:
    batch_size: int
    max_line_bytes: int
    max_batch_bytes: int
    read_chunk_bytes: int
    reserve_s: float


@dataclass(slots=True)
class Segment:
    job: Job
    fmt: InputFormat
    progress: Progress
    sink: PartSink
    executor: BatchExecutor
    manifest: Manifest
    reader: ObjectReader
    limits: SegmentLimits
    clock: Clock

    def out_of_time(self) -> bool:
        return self.clock.remaining_s() < self.limits.reserve_s


def run_lines(segment: Segment) -> bool:
    """JSON Lines or CSV in, JSON Lines out. ``True`` when the input is finished."""
    job, progress, limits = segment.job, segment.progress, segment.limits
    encoder = LineEncoder(segment.manifest)
    if progress.offset >= job.size:
        return True
    chunks = segment.reader.stream(job.source, progress.offset)
    lines = split_lines(chunks, progress.offset, limits.max_line_bytes)
    batches: Any
    if segment.fmt is InputFormat.CSV:
        schema = CsvSchema.of(segment.manifest.signature)
        batcher = CsvBatcher(schema, progress.columns)
        batches = batcher.batches(lines, progress.item, limits.batch_size)
    else:
        batches = jsonl_batches(lines, progress.item, limits.batch_size, limits.max_line_bytes)
    for batch in batches:
        results = [_safe(result, encoder) for result in _results(segment.executor, batch)]
        segment.sink.write(b"".join(encoded for _, encoded in results))
        _count(progress, [result for result, _ in results])
        progress.offset, progress.item = batch.end_offset, batch.end_item
        if isinstance(batch, BlockBatch):
            progress.columns = batcher.columns
        if segment.sink.checkpoint() and progress.offset < job.size and segment.out_of_time():
            return False
    return True


def _results(executor: BatchExecutor, batch: LineBatch | BlockBatch) -> list[LineResult]:
    if isinstance(batch, LineBatch):
        return executor.run_lines(batch.items)
    results = [LineResult(error.line, error=error.message) for error in batch.errors]
    if batch.block is not None:
        results.extend(executor.run_block(batch.lines, batch.block))
        results.sort(key=lambda result: result.line)
    return results


def _safe(result: LineResult, encoder: LineEncoder) -> tuple[LineResult, bytes]:
    """The result and its output line; a result that cannot be written is its line's error."""
    try:
        return result, encoder.encode(result)
    except Exception as exc:
        failed = LineResult(result.line, error=line_error(exc, f"line {result.line}"))
        return failed, encoder.encode(failed)


def _count(progress: Progress, results: list[LineResult]) -> None:
    counts = progress.counts
    failed = [result for result in results if result.error is not None]
    counts.batches += 1
    counts.records += len(results)
    counts.ok += len(results) - len(failed)
    for result in failed:
        assert result.error is not None
        counts.error(result.line, result.error)
