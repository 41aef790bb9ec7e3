"""Whether a version can replace another behind an alias: same inputs and outputs."""

from __future__ import annotations

from layerserve.domain.manifest import Dim, Signature, TensorSpec


def _dims_conflict(current: tuple[Dim, ...], candidate: tuple[Dim, ...]) -> str | None:
    if len(current) != len(candidate):
        return f"rank {len(current)} → {len(candidate)}"
    for axis, (old, new) in enumerate(zip(current, candidate, strict=True)):
        if isinstance(new, int) and isinstance(old, int) and old != new:
            return f"dim {axis} {old} → {new}"
        if isinstance(new, int) and isinstance(old, str):
            return f"dim {axis} dynamic '{old}' → fixed {new}"
    return None


def _tensor_conflicts(kind: str, current: TensorSpec, candidate: TensorSpec) -> list[str]:
    problems = []
    if current.datatype != candidate.datatype:
        problems.append(
            f"{kind} '{current.name}' datatype {current.datatype} → {candidate.datatype}"
        )
    dims = _dims_conflict(current.shape, candidate.shape)
    if dims:
        problems.append(f"{kind} '{current.name}' {dims}")
    return problems


def _side_conflicts(
    kind: str, current: tuple[TensorSpec, ...], candidate: tuple[TensorSpec, ...]
) -> list[str]:
    old = {spec.name: spec for spec in current}
    new = {spec.name: spec for spec in candidate}
    if old.keys() != new.keys():
        return [f"{kind} names {sorted(old)} → {sorted(new)}"]
    return [problem for name in old for problem in _tensor_conflicts(kind, old[name], new[name])]


def signature_conflicts(current: Signature, candidate: Signature) -> list[str]:
    """Why ``candidate`` cannot stand in for ``current``; empty when compatible.

    Names and datatypes must match exactly and ranks must match. A fixed dimension must
    keep its size and a dynamic one must not become fixed (requests that worked would
    fail); a fixed one may become dynamic, and unknown (``None``) dimensions are free.
    """
    return _side_conflicts("input", current.inputs, candidate.inputs) + _side_conflicts(
        "output", current.outputs, candidate.outputs
    )
