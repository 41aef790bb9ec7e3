"""Weighted, sticky version choice."""

from __future__ import annotations

import math
import random

import pytest

from layerserve.domain.errors import InvalidInputError
from layerserve.domain.routing import Route, canonical_routes, choose_version, routing_point

CANARY = [("1", 90), ("2", 10)]
REQUESTS = 10_000


def never() -> float:
    raise AssertionError("a keyed choice must not draw a random number")


def test_keyed_canary_share_is_within_binomial_bounds() -> None:
    chosen = [choose_version(CANARY, f"client-{i}", never) for i in range(REQUESTS)]
    hits = chosen.count("2")
    sigma = math.sqrt(REQUESTS * 0.1 * 0.9)  # 30 requests
    assert abs(hits - REQUESTS * 0.1) <= 4 * sigma, hits


def test_the_same_key_always_gets_the_same_version() -> None:
    keys = [f"user-{i}" for i in range(500)]
    first = [choose_version(CANARY, key, never) for key in keys]
    reordered = [Route(version="2", weight=10), Route(version="1", weight=90)]
    assert [choose_version(reordered, key, never) for key in keys] == first
    assert [choose_version(CANARY, key, never) for key in keys] == first


def test_the_key_hash_is_stable_across_processes() -> None:
    # blake2b, not the per-process salted hash(): fixed values.
    assert routing_point("user-42") == pytest.approx(43.60472144288925)
    assert routing_point("") == pytest.approx(89.31675160897387)


def test_raising_a_canary_only_moves_keys_onto_it() -> None:
    keys = [f"k{i}" for i in range(2000)]
    before = {k for k in keys if choose_version(CANARY, k, never) == "2"}
    after = {k for k in keys if choose_version([("1", 75), ("2", 25)], k, never) == "2"}
    assert before < after


def test_without_a_key_the_choice_follows_rand() -> None:
    assert choose_version(CANARY, None, lambda: 0.05) == "1"
    assert choose_version(CANARY, None, lambda: 0.95) == "2"
    assert choose_version([("7", 100)], None, lambda: 0.999999) == "7"
    rng = random.Random(7)
    hits = sum(choose_version(CANARY, None, rng.random) == "2" for _ in range(REQUESTS))
    assert abs(hits - 1000) <= 4 * math.sqrt(REQUESTS * 0.1 * 0.9)


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ([], "from 1 to 10 routes"),
        ([(str(v), 5) for v in range(20)], "from 1 to 10 routes"),
        ([("1", 60), ("2", 50)], "sum to 100, got 110"),
        ([("1", 50), ("1", 50)], "once"),
        ([("1", 0), ("2", 100)], "from 1 to 100"),
    ],
)
def test_bad_routes_are_refused(routes: list[tuple[str, int]], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        choose_version(routes, "k", never)


def test_canonical_order_is_natural_version_order() -> None:
    ordered = canonical_routes([("10", 50), ("9", 25), ("1.10", 20), ("1.9", 5)])
    assert [r.version for r in ordered] == ["1.9", "1.10", "9", "10"]
