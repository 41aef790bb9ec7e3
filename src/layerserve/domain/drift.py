"""Output distributions on one fixed layout, and drift between two of them (PSI).

The layout is one sorted array of bin edges, ``EDGES``: signed log-scale bins with
``SUBBINS`` bins per octave (linear in the mantissa) from ``2**MIN_EXP`` to
``2**MAX_EXP`` in magnitude, one bin around zero, one overflow bin at each end, and
``-inf`` / ``+inf``-or-NaN in the first and last bin. A bin number is the position
``np.searchsorted(EDGES, value, side="right")``, so bin numbers sort like values, binning
is one vectorised call on the hot path, and every model and version shares the layout:
histograms merge by adding counts and any two versions compare directly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

SUBBINS = 4
MIN_EXP = -20
MAX_EXP = 64
PSI_GROUPS = 10
PSI_FLOOR = 1e-4

Histogram = Mapping[int, int]


def _edges() -> np.ndarray:
    octaves = 2.0 ** np.arange(MIN_EXP, MAX_EXP, dtype=np.float64)
    steps = 1.0 + np.arange(SUBBINS, dtype=np.float64) / SUBBINS
    positive = np.append(np.outer(octaves, steps).reshape(-1), 2.0**MAX_EXP)
    largest = float(np.finfo(np.float32).max)
    return np.concatenate(([-largest], -positive[::-1], positive, [math.inf]))


EDGES = _edges()
EDGES32 = EDGES.astype(np.float32)
TOP_BIN = len(EDGES)
"""Bin of ``+inf`` and NaN; bin 0 holds ``-inf`` (and float64 values below float32's range)."""


def bin_values(values: np.ndarray, sample: int) -> np.ndarray:
    """Bin numbers of an evenly strided sample of at most ``sample`` values (any order)."""
    flat = values.reshape(-1)
    if flat.size > sample:
        flat = flat[:: -(-flat.size // sample)]
    if flat.dtype == np.float32:
        return EDGES32.searchsorted(flat, side="right")
    return EDGES.searchsorted(flat.astype(np.float64, copy=False), side="right")


def count_bins(bins: np.ndarray) -> dict[int, int]:
    """Sparse histogram ``{bin: count}`` of an array of bin numbers."""
    counts = np.bincount(bins, minlength=TOP_BIN + 1)
    present = counts.nonzero()[0]
    return dict(zip(present.tolist(), counts[present].tolist(), strict=True))


def bin_bounds(bin_number: int) -> tuple[float, float]:
    """The value range ``[low, high)`` of a bin."""
    if not 0 <= bin_number <= TOP_BIN:
        raise ValueError(f"bin {bin_number} is outside the layout 0..{TOP_BIN}")
    low = -math.inf if bin_number == 0 else float(EDGES[bin_number - 1])
    high = math.inf if bin_number == TOP_BIN else float(EDGES[bin_number])
    return low, high


def bin_midpoint(bin_number: int) -> float | None:
    """A representative value of a finite bin (an overflow bin gives its finite edge)."""
    if bin_number in (0, TOP_BIN):
        return None
    low, high = bin_bounds(bin_number)
    return high if bin_number == 1 else low if bin_number == TOP_BIN - 1 else (low + high) / 2


def merge_histograms(histograms: Iterable[Histogram]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for histogram in histograms:
        for bin_number, count in histogram.items():
            merged[bin_number] = merged.get(bin_number, 0) + count
    return merged


def histogram_mean(histogram: Histogram) -> float | None:
    """Approximate mean over finite bins, or ``None`` when there are none."""
    weighted = [(mid, c) for b, c in histogram.items() if (mid := bin_midpoint(b)) is not None]
    total = sum(c for _, c in weighted)
    return sum(mid * c for mid, c in weighted) / total if total else None


def histogram_quantile(histogram: Histogram, q: float) -> float | None:
    """Midpoint of the bin holding rank ``floor(q * (n - 1))``; ``None`` when empty.

    A rank that falls in a non-finite bin gives ``-inf`` or ``inf``.
    """
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = math.floor(q * (total - 1)), 0
    for bin_number in sorted(histogram):
        seen += histogram[bin_number]
        if seen > rank:
            mid = bin_midpoint(bin_number)
            return mid if mid is not None else (-math.inf if bin_number == 0 else math.inf)
    raise AssertionError("unreachable: ranks are below the total")


def psi(expected: Histogram, actual: Histogram, groups: int = PSI_GROUPS) -> float | None:
    """Population stability index of ``actual`` against ``expected``.

    Fine bins are first grouped into up to ``groups`` contiguous ranges holding about
    equal shares of ``expected`` (its quantiles), so the index does not grow with bin
    resolution; empty shares are floored at ``PSI_FLOOR``. ``None`` when either is empty.
    """
    expected_total, actual_total = sum(expected.values()), sum(actual.values())
    if not expected_total or not actual_total:
        return None
    shares = [(e / expected_total, a / actual_total) for e, a in _grouped(expected, actual, groups)]
    return sum(
        (max(a, PSI_FLOOR) - max(e, PSI_FLOOR)) * math.log(max(a, PSI_FLOOR) / max(e, PSI_FLOOR))
        for e, a in shares
    )


def _grouped(expected: Histogram, actual: Histogram, groups: int) -> list[tuple[int, int]]:
    total = sum(expected.values())
    result: list[tuple[int, int]] = []
    group_e = group_a = seen = 0
    for bin_number in sorted(set(expected) | set(actual)):
        e, a = expected.get(bin_number, 0), actual.get(bin_number, 0)
        group_e, group_a, seen = group_e + e, group_a + a, seen + e
        if seen * groups >= (len(result) + 1) * total and len(result) < groups - 1:
            result.append((group_e, group_a))
            group_e = group_a = 0
    if group_e or group_a:
        result.append((group_e, group_a))
    return result
