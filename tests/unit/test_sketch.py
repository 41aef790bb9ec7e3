"""DDSketch: 1 % relative accuracy on skewed data, exact and order-free merging, bounds."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerserve.domain.sketch import RELATIVE_ACCURACY, DDSketch

QUANTILES = (0.5, 0.95, 0.99)
TOLERANCE = RELATIVE_ACCURACY * (1 + 1e-9)


def exact(values: np.ndarray, q: float) -> float:
    """The value at rank ``floor(q * (n - 1))``, the rank the sketch estimates."""
    return float(np.sort(values)[math.floor(q * (len(values) - 1))])


def sketch_of(values: np.ndarray | list[float], max_buckets: int = 2048) -> DDSketch:
    sketch = DDSketch(max_buckets)
    sketch.add_many(values)
    return sketch


def skewed(kind: str, seed: int, size: int, shape: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "lognormal":
        return rng.lognormal(mean=1.0, sigma=shape, size=size)
    return (rng.pareto(shape, size=size) + 1.0) * 3.0


def assert_close(estimate: float | None, truth: float) -> None:
    assert estimate is not None
    assert abs(estimate - truth) <= TOLERANCE * abs(truth), (estimate, truth)


def same(a: DDSketch, b: DDSketch) -> None:
    assert a.buckets == b.buckets
    assert (a.count, a.zero, a.min, a.max) == (b.count, b.zero, b.min, b.max)
    assert a.total == pytest.approx(b.total, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["lognormal", "pareto"]),
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(1, 5000),
    shape=st.floats(0.5, 3.0),
)
def test_quantiles_within_one_percent_on_skewed_data(
    kind: str, seed: int, size: int, shape: float
) -> None:
    values = skewed(kind, seed, size, shape)
    sketch = sketch_of(values)
    for q in QUANTILES:
        assert_close(sketch.quantile(q), exact(values, q))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1e9, allow_nan=False), min_size=1, max_size=300))
def test_quantiles_within_one_percent_on_arbitrary_values(values: list[float]) -> None:
    sketch = DDSketch()
    for value in values:
        sketch.add(value)
    for q in (0.0, *QUANTILES, 1.0):
        truth = exact(np.array(values), q)
        estimate = sketch.quantile(q)
        if truth <= 1e-9:
            assert estimate is not None and estimate <= 1e-9
        else:
            assert_close(estimate, truth)


chunks = st.lists(st.floats(0.0, 1e6, allow_nan=False), max_size=80)


@settings(max_examples=60, deadline=None)
@given(chunks, chunks, chunks)
def test_merge_is_associative_and_commutative(
    a: list[float], b: list[float], c: list[float]
) -> None:
    left = sketch_of(a)
    left.merge(sketch_of(b))
    left.merge(sketch_of(c))
    right_tail = sketch_of(b)
    right_tail.merge(sketch_of(c))
    right = sketch_of(a)
    right.merge(right_tail)
    swapped = sketch_of(c)
    swapped.merge(sketch_of(a))
    swapped.merge(sketch_of(b))
    same(left, right)
    same(left, swapped)


@settings(max_examples=60, deadline=None)
@given(chunks, chunks)
def test_merged_sketch_equals_sketch_of_concatenated_data(a: list[float], b: list[float]) -> None:
    merged = sketch_of(a)
    merged.merge(sketch_of(b))
    same(merged, sketch_of(a + b))


@settings(max_examples=30, deadline=None)
@given(chunks)
def test_add_and_add_many_agree_and_serialisation_round_trips(values: list[float]) -> None:
    one_by_one = DDSketch()
    for value in values:
        one_by_one.add(value)
    vectorised = sketch_of(values)
    same(one_by_one, vectorised)
    same(DDSketch.from_dict(vectorised.to_dict()), vectorised)


def test_zero_and_tiny_values_count_as_zero() -> None:
    sketch = sketch_of([0.0, 0.0, 1e-12, 5.0])
    assert sketch.zero == 3
    assert sketch.quantile(0.5) == 0.0
    assert_close(sketch.quantile(1.0), 5.0)


def test_empty_sketch_has_no_quantiles() -> None:
    sketch = DDSketch()
    assert sketch.quantile(0.5) is None
    assert sketch.mean is None


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_negative_and_non_finite_values_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="finite and >= 0"):
        DDSketch().add(bad)
    with pytest.raises(ValueError, match="finite and >= 0"):
        DDSketch().add_many([1.0, bad])


def test_size_is_bounded_and_the_tail_stays_accurate() -> None:
    values = np.geomspace(1e-6, 1e6, 20_000)
    sketch = sketch_of(values, max_buckets=128)
    assert len(sketch.buckets) == 128
    assert sketch.count == values.size
    for q in (0.95, 0.99):
        assert_close(sketch.quantile(q), exact(values, q))


def test_compact_form_is_small() -> None:
    values = skewed("lognormal", 7, 10_000, 0.8)
    encoded = orjson.dumps(sketch_of(values).to_dict())
    assert len(encoded) < 2500, len(encoded)


def test_inconsistent_compact_form_is_refused() -> None:
    data = sketch_of([1.0, 2.0]).to_dict()
    data["n"] = 5
    with pytest.raises(ValueError, match="add up"):
        DDSketch.from_dict(data)
