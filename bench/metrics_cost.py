"""Per-request cost of the metric record on the inference hot path.

Times ``record_to_json(build_record(...))`` (bin a sample of each output, build the
dict, serialise it with orjson) for typical small outputs, one call at a time, and
prints the median and p90 in microseconds. Target: a median of at most 20 µs.
Run: ``python -m bench.metrics_cost``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.harness import Stats, machine, time_calls
from layerserve.domain.metric_record import build_record, record_to_json

TARGET_US = 20.0
ITERATIONS = 20_000
WARMUP = 2_000
CASES: tuple[tuple[str, dict[str, tuple[int, ...]]], ...] = (
    ("1x4 FP32", {"y": (1, 4)}),
    ("32x10 FP32", {"y": (32, 10)}),
    ("1x1000 FP32", {"y": (1, 1000)}),
    ("2 outputs 1x3", {"label": (1, 3), "probabilities": (1, 3)}),
)


def record_cost(shapes: dict[str, tuple[int, ...]]) -> Stats:
    rng = np.random.default_rng(0)
    outputs = {name: rng.random(shape, dtype=np.float32) for name, shape in shapes.items()}

    def one() -> bytes:
        record: dict[str, Any] = build_record(
            time_ms=1_740_830_400_000,
            request_id="4f6c2a0e-2f0b-4d6e-9d0a-6b1f5e0c9a11",
            model="iris",
            version="3",
            alias="production",
            status=200,
            error_kind=None,
            latency_ms=1.732,
            run_ms=0.211,
            batch_size=next(iter(shapes.values()))[0],
            cold=False,
            init_ms=None,
            outputs=outputs,
        )
        return record_to_json(record)

    return time_calls(one, ITERATIONS, WARMUP)


def main() -> None:
    print(f"metric record cost per request ({machine()})")
    print(f"{'output':<16}{'median µs':>10}{'p90 µs':>10}  target ≤ {TARGET_US:g} µs")
    for label, shapes in CASES:
        stats = record_cost(shapes)
        verdict = "ok" if stats.median_us <= TARGET_US else "OVER"
        print(f"{label:<16}{stats.median_us:>10.2f}{stats.p90_us:>10.2f}  {verdict}")


if __name__ == "__main__":
    main()
