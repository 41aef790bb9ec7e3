"""A mergeable quantile sketch with relative-error guarantees (DDSketch).

Each positive value ``x`` falls in bucket ``ceil(log_gamma(x))`` with
``gamma = (1 + a) / (1 - a)``; a bucket's representative value is within a relative
error ``a`` (1 %) of every value in it, so every quantile is too. Sketches merge by
adding bucket counts, which makes merging exact, associative and commutative. Size is
bounded: past ``max_buckets`` the lowest buckets collapse into one (low quantiles lose
accuracy first; the tail, which latency cares about, keeps it). Values at or below
``MIN_POSITIVE`` count as zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

RELATIVE_ACCURACY = 0.01
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
MAX_BUCKETS = 2048
MIN_POSITIVE = 1e-9
_LOG_GAMMA = math.log(GAMMA)


def bucket_index(value: float) -> int:
    """The bucket of a positive value: ``ceil(log(value) / log(gamma))``."""
    return math.ceil(math.log(value) / _LOG_GAMMA)


def bucket_value(index: int) -> float:
    """The representative value of a bucket (relative error at most ``a`` for its members)."""
    return 2.0 * GAMMA**index / (GAMMA + 1.0)


class DDSketch:
    """Counts of non-negative values in log-spaced buckets, plus exact count/sum/min/max."""

    __slots__ = ("buckets", "count", "max", "max_buckets", "min", "total", "zero")

    def __init__(self, max_buckets: int = MAX_BUCKETS) -> None:
        if max_buckets < 1:
            raise ValueError("max_buckets must be at least 1")
        self.max_buckets = max_buckets
        self.buckets: dict[int, int] = {}
        self.zero = 0
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

    def add(self, value: float) -> None:
        if not value >= 0.0 or math.isinf(value):
            raise ValueError(f"sketch values must be finite and >= 0, got {value!r}")
        self.count += 1
        self.total += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        if value <= MIN_POSITIVE:
            self.zero += 1
            return
        index = bucket_index(value)
        self.buckets[index] = self.buckets.get(index, 0) + 1
        if len(self.buckets) > self.max_buckets:
            self._collapse()

    def add_many(self, values: Iterable[float] | np.ndarray) -> None:
        """Add many values at once with vectorised bucketing."""
        array = np.asarray(values, dtype=np.float64).reshape(-1)
        if array.size == 0:
            return
        if not bool(np.isfinite(array).all()) or float(array.min()) < 0.0:
            raise ValueError("sketch values must be finite and >= 0")
        self.count += int(array.size)
        self.total += float(array.sum())
        self.min = min(self.min, float(array.min()))
        self.max = max(self.max, float(array.max()))
        positive = array[array > MIN_POSITIVE]
        self.zero += int(array.size - positive.size)
        indexes = np.ceil(np.log(positive) / _LOG_GAMMA).astype(np.int64)
        keys, counts = np.unique(indexes, return_counts=True)
        self._add_counts(zip(keys.tolist(), counts.tolist(), strict=True))

    def merge(self, other: DDSketch) -> None:
        """Fold ``other`` into this sketch (exact: bucket counts add)."""
        self.count += other.count
        self.total += other.total
        self.zero += other.zero
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        self._add_counts(other.buckets.items())

    def copy(self) -> DDSketch:
        clone = DDSketch(self.max_buckets)
        clone.merge(self)
        return clone

    def quantile(self, q: float) -> float | None:
        """The value at rank ``floor(q * (count - 1))`` within 1 %, or ``None`` when empty."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be within [0, 1], got {q}")
        if self.count == 0:
            return None
        rank = math.floor(q * (self.count - 1))
        if rank < self.zero:
            return max(self.min, 0.0)
        seen = self.zero
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen > rank:
                return min(max(bucket_value(index), self.min), self.max)
        return self.max

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def to_dict(self) -> dict[str, Any]:
        """Compact form: bucket keys delta-encoded, counts aligned with them."""
        keys = sorted(self.buckets)
        deltas = [b - a for a, b in zip([0, *keys], keys, strict=False)]
        return {
            "n": self.count,
            "s": self.total,
            "z": self.zero,
            "lo": self.min if self.count else None,
            "hi": self.max if self.count else None,
            "k": deltas,
            "c": [self.buckets[key] for key in keys],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], max_buckets: int = MAX_BUCKETS) -> DDSketch:
        sketch = cls(max_buckets)
        keys, counts = list(data["k"]), list(data["c"])
        if len(keys) != len(counts):
            raise ValueError("sketch keys and counts differ in length")
        sketch.buckets = dict(zip(np.cumsum(keys, dtype=np.int64).tolist(), counts, strict=True))
        sketch.count, sketch.total, sketch.zero = int(data["n"]), float(data["s"]), int(data["z"])
        if sketch.count:
            sketch.min, sketch.max = float(data["lo"]), float(data["hi"])
        if sum(counts) + sketch.zero != sketch.count:
            raise ValueError("sketch counts do not add up to its total")
        if len(sketch.buckets) > max_buckets:
            sketch._collapse()
        return sketch

    def _add_counts(self, items: Iterable[tuple[int, int]]) -> None:
        buckets = self.buckets
        for index, count in items:
            buckets[index] = buckets.get(index, 0) + count
        if len(buckets) > self.max_buckets:
            self._collapse()

    def _collapse(self) -> None:
        keys = sorted(self.buckets)
        excess = keys[: len(keys) - self.max_buckets + 1]
        target = excess[-1]
        self.buckets[target] = (
            sum(self.buckets.pop(key) for key in excess[:-1]) + (self.buckets[target])
        )
