"""Warm handler overhead: a full ``handler(event, context)`` against references timed in
the same process, in turns.

The measuring runs in child processes (``bench.overhead_child``) configured like the Lambda
function: one with the default metrics format (``line``: EMF inside the metric record line;
every layer of the path, the bare Mangum + FastAPI stack and, for binary bodies, the
floor), one with ``LAYERSERVE_METRICS_FORMAT=powertools`` (raw run and handler), so the
cost of each metrics format is visible. Targets, as same-run ratios: the tiny model's
JSON request at most 1.5x the bare stack; the 1 MiB binary request at most 1.5x the floor
(base64-decode of the request body + ``session.run`` + base64-encode of the response body).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import models
from bench.harness import ROOT, Stats, run_child
from bench.overhead_child import BIG_FEATURES, CASES

STACK_TARGET_RATIO = 1.5
"""Warm handler, tiny model, JSON, default metrics format: at most this times the bare stack."""
FLOOR_TARGET_RATIO = 1.5
"""1 MiB FP32 binary request → binary response: at most this times the floor."""
MAX_BODY_BYTES = 6 * 1024 * 1024  # Lambda's synchronous payload limit

LAYERS = (
    ("raw", "session.run"),
    ("service", "+ data plane"),
    ("asgi", "+ Mangum, FastAPI"),
    ("handler", "+ Powertools = handler"),
)


def build_layer(folder: Path) -> Path:
    """Two identity models packaged by the real packager; returns the models root."""
    models.package(models.identity(4), folder, "tiny")
    models.package(models.identity(BIG_FEATURES), folder, "big")
    return folder / "models"


def child_env(models_root: Path, scratch: Path, metrics_format: str) -> dict[str, str]:
    return {
        "LAYERSERVE_MODELS_DIR": str(models_root),
        "LAYERSERVE_SCRATCH_DIR": str(scratch),
        "LAYERSERVE_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "LAYERSERVE_METRICS_FORMAT": metrics_format,
        "POWERTOOLS_METRICS_NAMESPACE": "layerserve-bench",
        "POWERTOOLS_METRICS_DISABLED": "false",
        "POWERTOOLS_DEV": "false",
    }


def measure() -> tuple[dict[str, Any], dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="layerserve-bench-") as tmp:
        folder = Path(tmp)
        root = build_layer(folder / "layer")
        full, _ = run_child(
            "bench.overhead_child", ["full"], child_env(root, folder / "full", "line")
        )
        other, _ = run_child(
            "bench.overhead_child", ["handler"], child_env(root, folder / "pt", "powertools")
        )
    return full["cases"], other["cases"]


def _stats(case: dict[str, Any], layer: str) -> Stats:
    return Stats(**case[layer])


def print_summary(full: dict[str, Any], powertools: dict[str, Any]) -> None:
    print("Warm handler overhead, microseconds: wall-clock median (p90); overhead = handler - raw")
    print(
        f"{'case':<24} {'raw run':>16} {'handler':>19} {'overhead':>9} {'ratio':>7} "
        f"{'ovh CPU':>8} {'ovh powertools':>15}"
    )
    for case in CASES:
        raw, handler = _stats(full[case.name], "raw"), _stats(full[case.name], "handler")
        pt_raw, pt_handler = (_stats(powertools[case.name], key) for key in ("raw", "handler"))
        ratio = handler.median_us / raw.median_us
        print(
            f"{case.name:<24} {raw.median_us:>7.1f} ({raw.p90_us:>6.1f}) "
            f"{handler.median_us:>8.1f} ({handler.p90_us:>8.1f}) "
            f"{handler.median_us - raw.median_us:>9.1f} {ratio:>6.1f}x "
            f"{handler.cpu_median_us - raw.cpu_median_us:>8.1f} "
            f"{pt_handler.median_us - pt_raw.median_us:>15.1f}"
        )
    print(
        "default metrics format: line (EMF inside the record line); ovh CPU: the same "
        "difference in this thread's CPU time; ovh powertools: with "
        "LAYERSERVE_METRICS_FORMAT=powertools (another process, same cases)"
    )


def print_targets(full: dict[str, Any], powertools: dict[str, Any]) -> None:
    """The targets as ratios to references timed in the same process, in turns."""
    print("\nTargets (same-run references)")
    tiny = full["tiny [1,4] JSON"]
    handler, stack = _stats(tiny, "handler").median_us, _stats(tiny, "stack").median_us
    pt = powertools["tiny [1,4] JSON"]
    pt_ratio = _stats(pt, "handler").median_us / _stats(pt, "stack").median_us
    ratio = handler / stack
    print(
        f"  warm handler, tiny JSON, default format: {handler:.1f} us = {ratio:.2f}x the bare "
        f"stack ({stack:.1f} us); target <= {STACK_TARGET_RATIO}x: "
        f"{'met' if ratio <= STACK_TARGET_RATIO else 'MISSED'} (powertools format: "
        f"{pt_ratio:.2f}x its own process's bare stack)"
    )
    big = full["1 MiB [1,262144] binary"]
    handler, floor = _stats(big, "handler").median_us, _stats(big, "floor").median_us
    ratio = handler / floor
    print(
        f"  1 MiB FP32 binary -> binary: {handler:.1f} us = {ratio:.2f}x the floor "
        f"({floor:.1f} us: b64decode + session.run {_stats(big, 'raw').median_us:.1f} us + "
        f"b64encode); target <= {FLOOR_TARGET_RATIO}x: "
        f"{'met' if ratio <= FLOOR_TARGET_RATIO else 'MISSED'}"
    )


def print_reference(full: dict[str, Any]) -> None:
    print(
        "\nAgainst the bare stack (Mangum + FastAPI, one async route answering orjson, "
        "no model), same event, same run"
    )
    print(f"{'case':<24} {'bare stack':>11} {'our overhead':>13} {'beyond the stack':>17}")
    for case in CASES:
        stats = full[case.name]
        stack = _stats(stats, "stack").median_us
        overhead = _stats(stats, "handler").median_us - _stats(stats, "raw").median_us
        print(f"{case.name:<24} {stack:>11.1f} {overhead:>13.1f} {overhead - stack:>17.1f}")


def print_breakdown(full: dict[str, Any]) -> None:
    print("\nWhere the time goes (cumulative medians, microseconds)")
    print(f"{'case':<24} " + " ".join(f"{label:>22}" for _, label in LAYERS))
    for case in CASES:
        cells = " ".join(f"{_stats(full[case.name], key).median_us:>22.1f}" for key, _ in LAYERS)
        print(f"{case.name:<24} {cells}")


def main() -> None:
    full, powertools = measure()
    print_summary(full, powertools)
    print_breakdown(full)
    print_reference(full)
    print_targets(full, powertools)


def profile(case: str) -> None:
    """cProfile of the handler on one case: ``python -m bench.handler_overhead profile CASE``."""
    with tempfile.TemporaryDirectory(prefix="layerserve-bench-") as tmp:
        folder = Path(tmp)
        env = {**os.environ, **child_env(build_layer(folder / "layer"), folder / "s", "line")}
        command = [sys.executable, "-m", "bench.overhead_child", "profile", case]
        subprocess.run(command, cwd=ROOT, env=env, check=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["profile"]:
        profile(sys.argv[2] if len(sys.argv) > 2 else CASES[0].name)
    else:
        main()
