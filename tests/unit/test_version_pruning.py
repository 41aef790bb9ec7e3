"""Which published versions a prune deletes: never the newest few, never an aliased one."""

from __future__ import annotations

import pytest

from layerserve.services.version_pruning import plan_pruning


def test_keeps_the_newest_and_every_aliased_version() -> None:
    plan = plan_pruning("f", [1, 2, 3, 4, 5, 6], aliased={2}, keep_latest=2)
    assert plan.delete == (1, 3, 4)
    assert plan.keep == (2, 5, 6)


def test_an_alias_to_a_missing_version_keeps_nothing_extra() -> None:
    plan = plan_pruning("f", [3, 1, 2], aliased={9}, keep_latest=1)
    assert (plan.delete, plan.keep) == ((1, 2), (3,))


def test_few_versions_delete_nothing() -> None:
    assert plan_pruning("f", [1, 2], aliased=set(), keep_latest=3).delete == ()


def test_keeping_none_is_refused() -> None:
    with pytest.raises(ValueError, match="newest"):
        plan_pruning("f", [1], aliased=set(), keep_latest=0)
