"""Latency compared like for like: request size classes and a size-matched quantile.

A caller who picks routing keys can send deliberately large valid requests to one side
of a canary; they are slow because they are large, not because that version is slow.
So latency is kept per size class (a request's size is the number of elements in its
input tensors), and the two sides are compared over the same mix of sizes:

- a class counts only when both sides served at least ``MIN_CLASS_SAMPLES`` requests
  of that size, so sizes that only one side saw carry no weight;
- each counted class weighs what it weighs in the stable version's traffic, and both
  sides' quantiles are taken over that same mixture (post-stratification).

Classes are quarter octaves (the largest request in a class has at most 2^(1/4), about
1.19 times the elements of the smallest), so choosing sizes within a class can move
a side's size-matched latency by at most that factor when latency grows linearly
with size, and about 1.41x when it grows with the square of it: below the default
1.5x limit either way. If each class of the canary is at most ``r`` times slower than
the stable version's, so is the mixture, whatever the weights.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from layerserve.domain.sketch import DDSketch, bucket_value

CLASSES_PER_OCTAVE: Final = 4
MIN_CLASS_SAMPLES: Final = 10
EMPTY_CLASS: Final = -1
"""The class of requests whose inputs have no elements at all."""


def size_class(elements: int) -> int:
    """``floor(4 * log2(elements))``; ``EMPTY_CLASS`` for zero elements."""
    if elements <= 0:
        return EMPTY_CLASS
    return math.floor(CLASSES_PER_OCTAVE * math.log2(elements) + 1e-9)


def class_bounds(size: int) -> tuple[int, int]:
    """The smallest and largest element count in class ``size`` (both inclusive)."""
    if size == EMPTY_CLASS:
        return 0, 0
    low = math.ceil(2 ** (size / CLASSES_PER_OCTAVE) - 1e-9)
    high = math.ceil(2 ** ((size + 1) / CLASSES_PER_OCTAVE) - 1e-9) - 1
    return low, max(low, high)


def class_label(size: int) -> str:
    low, high = class_bounds(size)
    return str(low) if low == high else f"{low}-{high}"


@dataclass(frozen=True, slots=True)
class MatchedQuantiles:
    """Both sides' quantile over the stable version's mix of the shared size classes."""

    canary: float
    stable: float
    classes: tuple[int, ...]
    """The size classes compared, smallest first."""
    canary_requests: int
    stable_requests: int
    """Requests of the compared classes on each side."""


def shared_classes(
    canary: Mapping[int, DDSketch], stable: Mapping[int, DDSketch], minimum: int
) -> list[int]:
    """Classes in which both sides have at least ``minimum`` requests."""
    return sorted(
        size
        for size in canary.keys() & stable.keys()
        if canary[size].count >= minimum and stable[size].count >= minimum
    )


def matched_quantile(
    canary: Mapping[int, DDSketch],
    stable: Mapping[int, DDSketch],
    q: float,
    minimum: int = MIN_CLASS_SAMPLES,
) -> MatchedQuantiles | None:
    """The ``q`` quantile of each side over the shared classes, weighted like stable.

    ``None`` when no class has ``minimum`` requests on both sides.
    """
    classes = shared_classes(canary, stable, minimum)
    if not classes:
        return None
    total = sum(stable[size].count for size in classes)
    weights = {size: stable[size].count / total for size in classes}
    canary_q = mixture_quantile(((weights[s], canary[s]) for s in classes), q)
    stable_q = mixture_quantile(((weights[s], stable[s]) for s in classes), q)
    if canary_q is None or stable_q is None:
        return None
    return MatchedQuantiles(
        canary=canary_q,
        stable=stable_q,
        classes=tuple(classes),
        canary_requests=sum(canary[s].count for s in classes),
        stable_requests=total,
    )


def mixture_quantile(parts: Iterable[tuple[float, DDSketch]], q: float) -> float | None:
    """The ``q`` quantile of a mixture: each sketch contributes ``weight`` of the mass.

    Within the sketches' 1 % relative accuracy; ``None`` when every sketch is empty.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be within [0, 1], got {q}")
    masses: dict[int, float] = {}
    zero, low, high = 0.0, math.inf, -math.inf
    for weight, sketch in parts:
        if sketch.count == 0 or weight <= 0:
            continue
        scale = weight / sketch.count
        zero += sketch.zero * scale
        for index, count in sketch.buckets.items():
            masses[index] = masses.get(index, 0.0) + count * scale
        low, high = min(low, sketch.min), max(high, sketch.max)
    total = zero + sum(masses.values())
    if total <= 0:
        return None
    rank = q * total * (1 - 1e-12)  # the smallest value with at least ``q`` of the mass
    if zero > 0 and zero >= rank:
        return max(low, 0.0)
    seen = zero
    for index in sorted(masses):
        seen += masses[index]
        if seen >= rank:
            return min(max(bucket_value(index), low), high)
    return high
