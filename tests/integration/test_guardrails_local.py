"""The local stack runs the guardrail schedule on a timer: a drifting canary is rolled back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from layerserve.domain.guardrails import CanaryPolicy
from layerserve.local.stack import LocalStack, StackOptions
from tests.guardrail_support import ALIAS, MODEL, build_layer
from tests.local_stack_support import local_stack
from tests.servers import serving

POLICY = CanaryPolicy(steps=(50, 100), bake_seconds=0, min_samples=10, max_p99_ratio=None)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    """``layerserve dev --canary 50`` with a policy: stable 3 (y = x), canary 4 (y = x + 3)."""
    root = build_layer(tmp_path / "layer")
    options = StackOptions(root, tmp_path / "scratch", canary_weight=50, canary_policy=POLICY,
                           registry_ttl_s=0.0, tick_s=0.2)  # fmt: skip
    with local_stack(options) as local:
        yield local


def test_the_timer_rolls_back_a_drifting_canary(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving(stack.start()) as address, httpx.Client(base_url=f"http://{address}") as http:
        assert [(m.stable, m.canary) for m in stack.seeded] == [("3", "4")]
        registry = stack.registry
        assert registry is not None
        rng = np.random.default_rng(0)
        deadline = time.monotonic() + 30
        alias = registry.aliases.get(MODEL, ALIAS)
        while alias.canary is not None:
            assert time.monotonic() < deadline, "the guardrails never acted"
            data = np.round(rng.normal(size=12), 4).tolist()
            body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [3, 4], "data": data}]}
            assert http.post(f"/v2/models/{MODEL}/infer", json=body).status_code == 200
            alias = registry.aliases.get(MODEL, ALIAS)
    assert alias.pairs() == [("3", 100)]
    entry = registry.history(MODEL, limit=1).entries[0]
    assert entry.action == "rollback" and "drifted" in entry.reason and entry.figures
    time.sleep(0.3)  # the line is printed right after the write
    printed = capsys.readouterr().out
    assert f"guardrails {MODEL}/{ALIAS} rollback: output 'y' drifted from stable" in printed
