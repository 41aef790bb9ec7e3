"""The streamed ZIP64 writer: readable by zipfile and NumPy, resumable from its state."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import numpy as np

from layerserve.services.batch.sink import PartSink
from layerserve.services.batch.state import Progress, ZipState
from layerserve.services.batch.zipstream import ZipStreamWriter
from tests.batch_support import BUCKET, MemoryObjects

KEY = "outputs/x.npz"
CHUNK = 700


def _npy(array: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _write(meta: bytes, name: str, data: bytes, hand_over_at: int | None) -> tuple[bytes, int]:
    """Write two members in chunks; after the ``hand_over_at``-th part upload, continue from
    the state alone (JSON round trip), as the next invocation would. Returns the archive
    and the number of parts."""
    objects = MemoryObjects()
    progress = Progress()

    def writer_for(state: Progress) -> tuple[PartSink, ZipStreamWriter]:
        sink = PartSink(objects, BUCKET, KEY, "application/octet-stream", 1024, state)
        return sink, ZipStreamWriter(sink, state.zip or ZipState())

    sink, writer = writer_for(progress)
    progress.zip = writer.state
    writer.add("_meta.json", meta)
    writer.begin(name)
    uploads = 0
    for start in range(0, len(data), CHUNK):
        writer.write(data[start : start + CHUNK])
        if sink.checkpoint():
            uploads += 1
            if uploads == hand_over_at:
                progress = Progress.model_validate_json(progress.model_dump_json())
                sink, writer = writer_for(progress)
    writer.end()
    writer.finish()
    sink.finish()
    return objects.get(KEY), progress.parts


def test_members_read_back_with_numpy_and_zipfile() -> None:
    x = np.arange(3000, dtype=np.float32).reshape(1000, 3)
    raw, parts = _write(b'{"rows": 1000}', "y.npy", _npy(x), hand_over_at=None)
    assert parts > 5
    archive = zipfile.ZipFile(io.BytesIO(raw))
    assert archive.testzip() is None  # every CRC checks out
    assert archive.namelist() == ["_meta.json", "y.npy"]
    loaded = np.load(io.BytesIO(raw))
    np.testing.assert_array_equal(loaded["y"], x)
    assert loaded["_meta.json"] == b'{"rows": 1000}'


def test_state_handed_over_mid_member_gives_the_same_archive() -> None:
    data = _npy(np.random.default_rng(0).normal(size=(800, 5)))
    straight, _ = _write(b"{}", "y.npy", data, hand_over_at=None)
    for hand_over in (1, 3, 20):
        assert _write(b"{}", "y.npy", data, hand_over_at=hand_over)[0] == straight
