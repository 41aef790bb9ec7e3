"""Size classes and the size-matched quantile the p99 comparison uses."""

from __future__ import annotations

import numpy as np
import pytest

from layerserve.domain.size_match import (
    EMPTY_CLASS,
    class_bounds,
    class_label,
    matched_quantile,
    mixture_quantile,
    size_class,
)
from layerserve.domain.sketch import DDSketch


def sketch(values: list[float] | np.ndarray) -> DDSketch:
    built = DDSketch()
    built.add_many(values)
    return built


def test_each_class_spans_at_most_a_quarter_octave() -> None:
    for elements in range(1, 20_000):
        low, high = class_bounds(size_class(elements))
        assert low <= elements <= high
        assert high <= low * 2**0.25
    assert size_class(0) == EMPTY_CLASS and class_bounds(EMPTY_CLASS) == (0, 0)
    assert [class_label(size_class(n)) for n in (1, 4, 12, 100)] == ["1", "4", "12-13", "91-107"]


def test_the_mixture_of_one_sketch_is_its_own_quantile() -> None:
    values = np.random.default_rng(0).lognormal(1.0, 0.5, size=5000)
    single = sketch(values)
    mixed = mixture_quantile([(1.0, single)], 0.99)
    assert mixed == pytest.approx(float(np.quantile(values, 0.99)), rel=0.02)
    assert mixture_quantile([(1.0, DDSketch())], 0.5) is None


def test_mixture_weights_replace_the_sketches_own_counts() -> None:
    fast, slow = sketch([1.0] * 1000), sketch([100.0] * 10)
    # Weighted 50/50 the slow sketch holds half the mass, whatever its count.
    assert mixture_quantile([(0.5, fast), (0.5, slow)], 0.6) == pytest.approx(100.0, rel=0.01)
    assert mixture_quantile([(0.995, fast), (0.005, slow)], 0.99) == pytest.approx(1.0, rel=0.01)


def test_only_classes_both_sides_served_are_compared_weighted_like_stable() -> None:
    canary = {0: sketch([5.0] * 50), 60: sketch([900.0] * 40)}  # 60: huge requests
    stable = {0: sketch([5.0] * 500), 20: sketch([30.0] * 100)}
    matched = matched_quantile(canary, stable, 0.99)
    assert matched is not None and matched.classes == (0,)
    assert matched.canary == pytest.approx(5.0, rel=0.01) == matched.stable
    assert (matched.canary_requests, matched.stable_requests) == (50, 500)
    assert matched_quantile({60: sketch([1.0] * 40)}, stable, 0.99) is None
    few = {0: sketch([5.0] * 9)}
    assert matched_quantile(few, stable, 0.99) is None  # fewer than 10 on the canary side
