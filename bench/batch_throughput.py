"""Batch throughput: rows/s of the batch path against a raw ``session.run`` loop.

Both sides see the same rows and the same batch size in one process. The raw loop runs
an ``InferenceSession`` built with layerserve's own session options over ready-made
NumPy slices. The batch path is ``BatchService`` end to end over in-memory storage:
stream the upload in chunks, split lines, decode (JSON Lines instances, CSV, NPY),
batch, validate, infer through ``InferenceService``, encode one JSON line per row (or
``.npz`` rows), buffer and "upload" parts. S3 latency is not part of either side.

Run: ``python -m bench.batch_throughput``.
"""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import orjson
from onnx import TensorProto, helper, numpy_helper

from bench.harness import machine
from layerserve.adapters.onnx_graph import OnnxToolkit
from layerserve.adapters.onnx_runtime import session_options
from layerserve.bootstrap import build_inference_service
from layerserve.domain.batch import BatchLayout, ObjectVersion
from layerserve.services.batch import BatchOptions, BatchService
from layerserve.services.packaging import PackageRequest, package_model
from layerserve.settings import InferenceSettings

BATCH = 256
REPEATS = 5
TARGET = 0.90


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    features: int
    hidden: int
    layers: int
    outputs: int
    rows: int


CASES = (
    Case("tiny MLP 16-32-4", 16, 32, 1, 4, 16_384),
    Case("MLP 64-512x3-8", 64, 512, 3, 8, 16_384),
    Case("wide MLP 64-2048x3-8", 64, 2048, 3, 8, 2_048),
)


def mlp(case: Case, seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    width, current = case.features, "x"
    for index in range(case.layers + 1):
        last = index == case.layers
        out_width = case.outputs if last else case.hidden
        w = rng.normal(0, 1 / np.sqrt(width), (width, out_width)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{index}")]
        inits += [numpy_helper.from_array(np.zeros(out_width, np.float32), f"b{index}")]
        nodes.append(helper.make_node("MatMul", [current, f"w{index}"], [f"m{index}"]))
        target = "scores" if last else f"a{index}"
        nodes.append(helper.make_node("Add", [f"m{index}", f"b{index}"], [target]))
        if not last:
            nodes.append(helper.make_node("Relu", [target], [f"r{index}"]))
            current = f"r{index}"
        width = out_width
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", case.features])
    y = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", case.outputs])
    graph = helper.make_graph(nodes, "mlp", [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


class MemoryObjects:
    """In-memory ``ObjectReader`` / ``ObjectWriter``: what the batch path needs of S3."""

    def __init__(self, chunk: int) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.parts: dict[tuple[str, str, str], dict[int, bytes]] = {}
        self._chunk = chunk

    def stream(self, source: ObjectVersion, start: int, end: int | None = None) -> Iterator[bytes]:
        body, _ = self.objects[(source.bucket, source.key)]
        stop = len(body) if end is None else end
        for offset in range(start, stop, self._chunk):
            yield body[offset : min(offset + self._chunk, stop)]

    def read(self, source: ObjectVersion, start: int, end: int) -> bytes:
        return b"".join(self.stream(source, start, end))

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        self.objects[(bucket, key)] = (body, content_type)

    def create_upload(self, bucket: str, key: str, content_type: str) -> str:
        upload_id = f"{content_type}:{len(self.parts)}"
        self.parts[(bucket, key, upload_id)] = {}
        return upload_id

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int, body: bytes) -> None:
        self.parts[(bucket, key, upload_id)][number] = body

    def complete_upload(self, bucket: str, key: str, upload_id: str, parts: int) -> None:
        stored = self.parts.pop((bucket, key, upload_id))
        body = b"".join(stored[n] for n in range(1, parts + 1))
        self.objects[(bucket, key)] = (body, upload_id.split(":")[0])

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        self.parts.pop((bucket, key, upload_id), None)


class _Clock:
    def remaining_s(self) -> float:
        return 900.0


class _NoContinuation:
    def schedule(self, payload: dict[str, Any]) -> None:
        raise AssertionError(f"a benchmark job must finish in one segment, not {payload}")


def uploads(rows: np.ndarray[Any, Any]) -> dict[str, bytes]:
    """The same rows as JSON Lines instances, CSV and ``.npy``."""
    npy = io.BytesIO()
    np.save(npy, rows)
    lines = b"".join(b"[" + b",".join(b"%r" % v for v in row) + b"]\n" for row in rows.tolist())
    csv = b"".join(b",".join(b"%r" % v for v in row) + b"\n" for row in rows.tolist())
    return {"rows.jsonl": lines, "rows.csv": csv, "rows.npy": npy.getvalue()}


def fastest(runs: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Seconds per run, the minimum over ``REPEATS`` rounds that interleave all runs (so
    noise from other processes hits every side alike; the minimum is the least disturbed)."""
    for run in runs.values():
        run()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(REPEATS):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: min(values) for name, values in times.items()}


def raw_loop(model: bytes, rows: np.ndarray[Any, Any]) -> Callable[[], object]:
    session = ort.InferenceSession(
        model, sess_options=session_options(), providers=["CPUExecutionProvider"]
    )
    slices = [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]

    def run() -> None:
        for piece in slices:
            session.run(["scores"], {"x": piece})

    return run


def parse_and_run_loop(model: bytes, jsonl: bytes) -> Callable[[], object]:
    """What a hand-written script over the JSON Lines file does at the least: split the
    lines, parse each with orjson, stack a batch, ``session.run``. No validation, no
    output: the floor for JSON text, which the batch path's ``jsonl`` rate compares to."""
    session = ort.InferenceSession(
        model, sess_options=session_options(), providers=["CPUExecutionProvider"]
    )

    def run() -> None:
        lines = jsonl.splitlines()
        for start in range(0, len(lines), BATCH):
            rows = [orjson.loads(line) for line in lines[start : start + BATCH]]
            session.run(["scores"], {"x": np.asarray(rows, dtype=np.float32)})

    return run


def batch_job(
    service: BatchService, objects: MemoryObjects, key: str, body: bytes
) -> Callable[[], object]:
    objects.put("bench", key, body, "application/octet-stream")
    source = ObjectVersion("bench", key, "etag", len(body))

    def run() -> None:
        job = service.plan(source)
        assert job is not None
        outcome = service.run(job, _Clock(), _NoContinuation())
        assert outcome.status == "succeeded" and outcome.errors == 0, outcome

    return run


def measure(case: Case, root: Path) -> list[tuple[str, float, float, float]]:
    model = mlp(case)
    name = f"mlp-{case.features}-{case.hidden}-{case.layers}"
    request = PackageRequest(name=name, version="1")
    package_model(model.SerializeToString(), request, root, OnnxToolkit())
    rows = np.random.default_rng(1).normal(size=(case.rows, case.features)).astype(np.float32)
    settings = InferenceSettings(
        models_dir=root / "models", scratch_dir=root / "scratch", preload="none"
    )
    objects = MemoryObjects(1 << 20)
    service = BatchService(
        build_inference_service(settings),
        objects,
        objects,
        BatchLayout(),
        BatchOptions(batch_size=BATCH),
    )
    files = uploads(rows)
    runs = {
        "raw": raw_loop(model.SerializeToString(), rows),
        "parse+run": parse_and_run_loop(model.SerializeToString(), files["rows.jsonl"]),
    }
    for filename, body in files.items():
        key = f"inputs/{name}/{filename}"
        runs[filename.split(".")[1]] = batch_job(service, objects, key, body)
    seconds = fastest(runs)
    raw_rate = case.rows / seconds.pop("raw")
    parse_rate = case.rows / seconds.pop("parse+run")
    return [(fmt, case.rows / spent, raw_rate, parse_rate) for fmt, spent in seconds.items()]


def main() -> None:
    print(f"batch throughput: batch size {BATCH}, best of {REPEATS} interleaved rounds")
    print(f"machine: {machine()}")
    print(
        f"{'model':22} {'format':6} {'batch rows/s':>13} {'raw rows/s':>12} {'ratio':>6}"
        f"  {'parse+run rows/s':>16} {'ratio':>6}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as folder:
        for case in CASES:
            for fmt, batch_rate, raw_rate, parse_rate in measure(case, Path(folder)):
                ratio = batch_rate / raw_rate
                flag = "  " if ratio >= TARGET else " <"
                text = (
                    f"{parse_rate:16,.0f} {batch_rate / parse_rate:6.1%}" if fmt == "jsonl" else ""
                )
                print(
                    f"{case.name:22} {fmt:6} {batch_rate:13,.0f} {raw_rate:12,.0f} "
                    f"{ratio:6.1%}{flag}{text}"
                )
    print(
        f"ratio: batch path / raw session.run over ready arrays (target {TARGET:.0%}; '<' "
        "marks a miss); parse+run: a minimal orjson + session.run loop over the same "
        "JSON Lines, the floor for text input"
    )


if __name__ == "__main__":
    main()
