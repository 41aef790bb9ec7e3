"""Array inputs (``.npy`` / ``.npz``) to an ``.npz`` result: one pass over the rows per
model output, each pass one ``.npy`` member of the streamed archive."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import orjson

from layerserve.domain.batch import rows_per_batch
from layerserve.domain.errors import InvalidInputError
from layerserve.domain.manifest import Manifest
from layerserve.services.batch.array_inputs import ArrayFile, ArrayInput
from layerserve.services.batch.arrays import RowStream
from layerserve.services.batch.pipelines import Segment, SegmentLimits
from layerserve.services.batch.state import Progress, ZipState
from layerserve.services.batch.zipstream import ZipStreamWriter

META_MEMBER = "_layerserve.json"


def run_arrays(segment: Segment) -> bool:
    """``.npy`` / ``.npz`` in, ``.npz`` out: one pass over the rows per model output."""
    progress, limits = segment.progress, segment.limits
    files = ArrayFile(segment.reader, segment.job, limits.read_chunk_bytes)
    inputs = files.open(segment.fmt, segment.manifest.signature)
    rows = inputs[0].header.rows
    if rows == 0:
        raise InvalidInputError("the arrays have no rows")
    per_batch = _rows_per_batch(inputs, limits)
    archive = ZipStreamWriter(segment.sink, progress.zip or ZipState())
    progress.zip = archive.state
    if not archive.state.entries and archive.state.current is None and progress.pass_index == 0:
        archive.add(META_MEMBER, _meta(segment.manifest, rows))
    outputs = [spec.name for spec in segment.manifest.signature.outputs]
    while progress.pass_index < len(outputs):
        name = outputs[progress.pass_index]
        streams = {item.spec.name: files.rows(item, progress.item) for item in inputs}
        while progress.item < rows:
            count = min(per_batch, rows - progress.item)
            feeds = {item.spec.name: _cast(streams[item.spec.name], count, item) for item in inputs}
            array = segment.executor.run_arrays(feeds, name, progress.item)
            _write_rows(archive, progress, name, array, (count, rows))
            progress.item += count
            _count_rows(progress, count)
            last = progress.item == rows and progress.pass_index == len(outputs) - 1
            if segment.sink.checkpoint() and not last and segment.out_of_time():
                return False
        archive.end()
        progress.pass_index += 1
        progress.item = 0
    archive.finish()
    return True


def _rows_per_batch(inputs: list[ArrayInput], limits: SegmentLimits) -> int:
    if any(item.spec.shape[0] == 1 for item in inputs):
        return 1
    row_bytes = sum(item.header.row_bytes for item in inputs)
    return rows_per_batch(limits.batch_size, row_bytes, limits.max_batch_bytes)


def _cast(stream: RowStream, count: int, source: ArrayInput) -> np.ndarray[Any, Any]:
    return stream.read(count).astype(source.dtype, copy=False)


def _write_rows(
    archive: ZipStreamWriter,
    progress: Progress,
    name: str,
    array: np.ndarray[Any, Any],
    counts: tuple[int, int],
) -> None:
    """Append one batch of output ``name``: ``counts`` is (rows in this batch, rows in all)."""
    count, rows = counts
    if array.ndim == 0 or array.shape[0] != count:
        raise InvalidInputError(f"model output '{name}' does not keep the batch axis")
    if array.dtype.hasobject or array.dtype.kind in "SU":
        raise InvalidInputError(f"model output '{name}' holds strings: use JSON Lines input")
    descr, row_shape = array.dtype.str, list(array.shape[1:])
    if progress.item == 0:
        archive.begin(f"{name}.npy")
        archive.write(_npy_header(array.dtype, (rows, *row_shape)))
        progress.member_dtype, progress.member_row_shape = descr, row_shape
    elif (descr, row_shape) != (progress.member_dtype, progress.member_row_shape):
        raise InvalidInputError(f"model output '{name}' changes shape or dtype between batches")
    archive.write(np.ascontiguousarray(array).tobytes())


def _npy_header(dtype: np.dtype[Any], shape: tuple[int, ...]) -> bytes:
    buffer = io.BytesIO()
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_2_0(buffer, header)
    return buffer.getvalue()


def _count_rows(progress: Progress, count: int) -> None:
    counts = progress.counts
    counts.batches += 1
    if progress.pass_index == 0:
        counts.records += count
        counts.ok += count


def _meta(manifest: Manifest, rows: int) -> bytes:
    return orjson.dumps(
        {
            "model_name": manifest.name,
            "model_version": manifest.version,
            "model_sha256": manifest.onnx.sha256,
            "rows": rows,
        }
    )
