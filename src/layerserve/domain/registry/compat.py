"""Whether a version can replace another behind an alias, as its clients see it.

Compatibility is directional. An input may accept more than before (a fixed dimension
may become dynamic; a dynamic one must not become fixed, or requests that worked would
fail). An output may become more specific (a dynamic dimension may become fixed, as
optimisation and quantisation often make them; a fixed one must not become dynamic or
change, or clients that rely on its size would break). Names, datatypes and ranks must
match exactly; unknown (``None``) dimensions promise nothing and are free either way.
"""

from __future__ import annotations

from typing import Literal

from layerserve.domain.manifest import Dim, Signature, TensorSpec

Side = Literal["input", "output"]


def _dim_conflict(side: Side, axis: int, old: Dim, new: Dim) -> str | None:
    if old is None or new is None:
        return None
    if isinstance(old, int) and isinstance(new, int):
        return None if old == new else f"dim {axis} {old} → {new}"
    if side == "input" and isinstance(old, str) and isinstance(new, int):
        return f"dim {axis} dynamic '{old}' → fixed {new}"
    if side == "output" and isinstance(old, int) and isinstance(new, str):
        return f"dim {axis} fixed {old} → dynamic '{new}'"
    return None


def _dims_conflict(side: Side, current: tuple[Dim, ...], candidate: tuple[Dim, ...]) -> str | None:
    if len(current) != len(candidate):
        return f"rank {len(current)} → {len(candidate)}"
    found = (
        _dim_conflict(side, axis, old, new)
        for axis, (old, new) in enumerate(zip(current, candidate, strict=True))
    )
    return next((problem for problem in found if problem), None)


def _tensor_conflicts(side: Side, current: TensorSpec, candidate: TensorSpec) -> list[str]:
    problems = []
    if current.datatype != candidate.datatype:
        problems.append(
            f"{side} '{current.name}' datatype {current.datatype} → {candidate.datatype}"
        )
    dims = _dims_conflict(side, current.shape, candidate.shape)
    if dims:
        problems.append(f"{side} '{current.name}' {dims}")
    return problems


def _side_conflicts(
    side: Side, current: tuple[TensorSpec, ...], candidate: tuple[TensorSpec, ...]
) -> list[str]:
    old = {spec.name: spec for spec in current}
    new = {spec.name: spec for spec in candidate}
    if old.keys() != new.keys():
        return [f"{side} names {sorted(old)} → {sorted(new)}"]
    return [problem for name in old for problem in _tensor_conflicts(side, old[name], new[name])]


def signature_conflicts(current: Signature, candidate: Signature) -> list[str]:
    """Why ``candidate`` cannot stand in for ``current``; empty when compatible."""
    return _side_conflicts("input", current.inputs, candidate.inputs) + _side_conflicts(
        "output", current.outputs, candidate.outputs
    )
