"""Timing, statistics, child processes and the machine description shared by the benches."""

from __future__ import annotations

import gc
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULT_PREFIX = "BENCH-RESULT "
"""Children print their result on one line with this prefix; EMF lines go to stdout too."""
RESPONDED_MARK = "BENCH-RESPONDED"
"""A cold-start child prints this line the moment its first response is ready."""


@dataclass(frozen=True, slots=True)
class Stats:
    """One series in microseconds: wall-clock median and p90, and the median CPU time.

    CPU time (this thread's) leaves out the time the process waited for a core, so it
    stays meaningful on a busy machine where wall-clock percentiles do not.
    """

    median_us: float
    p90_us: float
    cpu_median_us: float
    count: int

    @classmethod
    def of(cls, wall_ns: list[int], cpu_ns: list[int]) -> Stats:
        ordered = sorted(wall_ns)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        return cls(
            statistics.median(ordered) / 1000.0,
            p90 / 1000.0,
            statistics.median(cpu_ns) / 1000.0,
            len(ordered),
        )


def sample_calls(call: Callable[[], object], iterations: int) -> tuple[list[int], list[int]]:
    """Wall-clock and thread CPU nanoseconds of each of ``iterations`` calls."""
    gc.collect()
    wall: list[int] = []
    cpu: list[int] = []
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for _ in range(iterations):
        started, cpu_started = clock(), cpu_clock()
        call()
        cpu_done, done = cpu_clock(), clock()
        wall.append(done - started)
        cpu.append(cpu_done - cpu_started)
    return wall, cpu


def time_calls(call: Callable[[], object], iterations: int, warmup: int) -> Stats:
    """Call ``call`` ``warmup`` times, then time each of ``iterations`` calls."""
    for _ in range(warmup):
        call()
    return Stats.of(*sample_calls(call, iterations))


def time_interleaved(
    calls: Mapping[str, Callable[[], object]], iterations: int, warmup: int, rounds: int = 10
) -> dict[str, Stats]:
    """Like ``time_calls`` for several calls, taking turns in ``rounds`` slices, so that
    a change in the machine's load during the run affects every call alike."""
    for call in calls.values():
        for _ in range(warmup):
            call()
    wall: dict[str, list[int]] = {name: [] for name in calls}
    cpu: dict[str, list[int]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            slice_wall, slice_cpu = sample_calls(call, max(1, iterations // rounds))
            wall[name] += slice_wall
            cpu[name] += slice_cpu
    return {name: Stats.of(wall[name], cpu[name]) for name in calls}


class NullSink(io.TextIOBase):
    """Swallows what the handler prints (EMF lines) without a system call."""

    def write(self, text: str) -> int:
        return len(text)


def run_child(
    module: str, args: list[str], env: Mapping[str, str] | None = None, python: str = ""
) -> tuple[dict[str, Any], float]:
    """Run ``python -m module args`` fresh: its result, and the wall time from the spawn

    until it printed ``RESPONDED_MARK`` (or its result line, if it prints no mark).
    """
    command = [python or sys.executable, "-m", module, *args]
    started = time.perf_counter()
    wall = 0.0
    result: dict[str, Any] = {}
    with subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith(RESPONDED_MARK) and not wall:
                wall = time.perf_counter() - started
            elif line.startswith(RESULT_PREFIX):
                wall = wall or time.perf_counter() - started
                result = json.loads(line[len(RESULT_PREFIX) :])
    if child.returncode != 0 or not result:
        raise RuntimeError(f"{module} {' '.join(args)} failed with exit code {child.returncode}")
    return result, wall


def emit(result: Mapping[str, Any]) -> None:
    """How a child hands its result to the parent."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


def as_dict(stats: Stats) -> dict[str, Any]:
    return asdict(stats)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> str:
    """CPU model, cores, Python and onnxruntime versions and today's date, on one line."""
    import onnxruntime

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{cpu_model()}, {cores} cores, Python {platform.python_version()}, "
        f"onnxruntime {onnxruntime.__version__}, {datetime.now(UTC):%Y-%m-%d}"
    )


def python_speed_us() -> float:
    """``sum(range(1000))`` in microseconds (best of 5): compares this CPU's Python speed."""
    timer = timeit.Timer("sum(range(1000))")
    loops, _ = timer.autorange()
    return min(timer.repeat(5, loops)) / loops * 1e6


def conditions() -> str:
    """Load average and the Python speed reference, at the moment of the call."""
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"load average {load}; sum(range(1000)) takes {python_speed_us():.1f} us"
