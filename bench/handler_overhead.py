"""Warm handler overhead: a full ``handler(event, context)`` minus the bare ``session.run``.

The measuring runs in child processes (``bench.overhead_child``) configured like the Lambda
function: one with the default metrics (Powertools Metrics per request; every layer of the
path), one with ``LAYERSERVE_METRICS_FORMAT=line`` (the same metrics inside the metric
record line; raw run and handler), so the cost of each metrics format is visible.
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

TINY_TARGET_US = 150.0
BIG_BINARY_TARGET_RATIO = 2.0
MAX_BODY_BYTES = 6 * 1024 * 1024  # Lambda's synchronous payload limit

LAYERS = (
    ("raw", "session.run"),
    ("service", "+ codec, service"),
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
            "bench.overhead_child", ["full"], child_env(root, folder / "full", "powertools")
        )
        line, _ = run_child(
            "bench.overhead_child", ["handler"], child_env(root, folder / "line", "line")
        )
    return full["cases"], line["cases"]


def _stats(case: dict[str, Any], layer: str) -> Stats:
    return Stats(**case[layer])


def verdict(name: str, raw: Stats, handler: Stats) -> str:
    overhead = handler.median_us - raw.median_us
    if name.startswith("tiny"):
        met = overhead <= TINY_TARGET_US
        return f"overhead <= {TINY_TARGET_US:.0f} us: {'met' if met else 'MISSED'}"
    if name.endswith("binary"):
        met = handler.median_us <= BIG_BINARY_TARGET_RATIO * raw.median_us
        return f"handler <= {BIG_BINARY_TARGET_RATIO:.0f}x raw: {'met' if met else 'MISSED'}"
    return "(no target)"


def print_summary(full: dict[str, Any], line: dict[str, Any]) -> None:
    print("Warm handler overhead, microseconds: wall-clock median (p90); overhead = handler - raw")
    print(
        f"{'case':<24} {'raw run':>16} {'handler':>19} {'overhead':>9} {'ratio':>7} "
        f"{'ovh CPU':>8} {'ovh line':>10}  target"
    )
    for case in CASES:
        raw, handler = _stats(full[case.name], "raw"), _stats(full[case.name], "handler")
        line_raw, line_handler = _stats(line[case.name], "raw"), _stats(line[case.name], "handler")
        ratio = handler.median_us / raw.median_us
        print(
            f"{case.name:<24} {raw.median_us:>7.1f} ({raw.p90_us:>6.1f}) "
            f"{handler.median_us:>8.1f} ({handler.p90_us:>8.1f}) "
            f"{handler.median_us - raw.median_us:>9.1f} {ratio:>6.1f}x "
            f"{handler.cpu_median_us - raw.cpu_median_us:>8.1f} "
            f"{line_handler.median_us - line_raw.median_us:>10.1f}  "
            f"{verdict(case.name, raw, handler)}"
        )
    print(
        "ovh CPU: the same difference in this thread's CPU time (robust to a busy machine); "
        "ovh line: with LAYERSERVE_METRICS_FORMAT=line (metrics inside the record line)"
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
    full, line = measure()
    print_summary(full, line)
    print_breakdown(full)
    print_reference(full)


def profile(case: str) -> None:
    """cProfile of the handler on one case: ``python -m bench.handler_overhead profile CASE``."""
    with tempfile.TemporaryDirectory(prefix="layerserve-bench-") as tmp:
        folder = Path(tmp)
        env = {**os.environ, **child_env(build_layer(folder / "layer"), folder / "s", "powertools")}
        command = [sys.executable, "-m", "bench.overhead_child", "profile", case]
        subprocess.run(command, cwd=ROOT, env=env, check=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["profile"]:
        profile(sys.argv[2] if len(sys.argv) > 2 else CASES[0].name)
    else:
        main()
