"""The fixed bin layout of output values, and PSI between two histograms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerserve.domain.drift import (
    TOP_BIN,
    bin_bounds,
    bin_values,
    count_bins,
    histogram_mean,
    histogram_quantile,
    merge_histograms,
    psi,
)


def histogram(values: np.ndarray) -> dict[int, int]:
    return count_bins(bin_values(values, sample=values.size))


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, width=32))
def test_every_finite_value_falls_inside_its_bin(value: float) -> None:
    for dtype in (np.float32, np.float64):
        (bin_number,) = bin_values(np.array([value], dtype=dtype), sample=1).tolist()
        low, high = bin_bounds(bin_number)
        assert low <= value < high or (bin_number == TOP_BIN - 1 and value >= low)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=50))
def test_bin_numbers_sort_like_values(values: list[float]) -> None:
    ordered = sorted(values)
    bins = bin_values(np.array(ordered), sample=len(ordered)).tolist()
    assert bins == sorted(bins)


def test_non_finite_values_land_in_the_end_bins() -> None:
    bins = bin_values(np.array([-math.inf, math.nan, math.inf, 0.0]), sample=4).tolist()
    assert bins[0] == 0
    assert bins[1] == bins[2] == TOP_BIN
    assert bin_bounds(bins[3]) == (-(2.0**-20), 2.0**-20)


def test_integer_and_bool_tensors_are_binned() -> None:
    assert bin_values(np.array([[1, 2, 3]], dtype=np.int64), 8).tolist() == sorted(
        bin_values(np.array([1.0, 2.0, 3.0]), 8).tolist()
    )
    assert len(bin_values(np.array([True, False]), 8)) == 2


def test_large_tensors_are_sampled_evenly() -> None:
    values = np.arange(10_000, dtype=np.float32).reshape(100, 100)
    bins = bin_values(values, sample=64)
    assert 32 < len(bins) <= 64
    assert bins.max() > bin_values(np.array([9000.0], dtype=np.float32), 1)[0] - 2


def test_merge_mean_and_quantiles_of_histograms() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(10, 1, 4000), rng.normal(10, 1, 4000)
    merged = merge_histograms([histogram(a), histogram(b)])
    assert merged == histogram(np.concatenate([a, b]))
    mean = histogram_mean(merged)
    median = histogram_quantile(merged, 0.5)
    assert mean is not None and median is not None
    assert mean == pytest.approx(10, rel=0.05)
    assert median == pytest.approx(10, rel=0.1)
    assert histogram_mean({}) is None
    assert histogram_quantile({}, 0.5) is None


def test_psi_is_near_zero_for_the_same_distribution() -> None:
    rng = np.random.default_rng(1)
    score = psi(histogram(rng.normal(0, 1, 5000)), histogram(rng.normal(0, 1, 5000)))
    assert score is not None and score < 0.05


def test_psi_flags_a_shifted_distribution() -> None:
    rng = np.random.default_rng(2)
    stable = histogram(rng.normal(0, 1, 5000))
    small = psi(stable, histogram(rng.normal(0.1, 1, 5000)))
    large = psi(stable, histogram(rng.normal(1.5, 1, 5000)))
    assert small is not None and large is not None
    assert small < 0.1 < 0.25 < large


def test_psi_needs_both_sides() -> None:
    assert psi({}, {5: 1}) is None
    assert psi({5: 1}, {}) is None


def test_bins_outside_the_layout_are_refused() -> None:
    with pytest.raises(ValueError, match="outside the layout"):
        bin_bounds(TOP_BIN + 1)
