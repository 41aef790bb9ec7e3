"""Transport-neutral inference requests and responses, and their rules.

The wire protocol (``layerserve.protocol``) turns bodies into these; the data plane
checks them against the version's signature before anything reaches the runtime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from typing import Any

import numpy as np

from layerserve.domain.errors import InvalidInputError
from layerserve.domain.manifest import Signature, TensorSpec


@dataclass(slots=True)
class InferInput:
    name: str
    datatype: str
    shape: tuple[int, ...]
    array: np.ndarray[Any, Any]


@dataclass(slots=True)
class RequestedOutput:
    name: str
    binary: bool = False


@dataclass(slots=True)
class InferRequest:
    inputs: list[InferInput]
    outputs: list[RequestedOutput] | None = None
    id: str | None = None
    binary_outputs: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class InferOutput:
    name: str
    array: np.ndarray[Any, Any]
    binary: bool = False


@dataclass(slots=True)
class InferResponse:
    model_name: str
    model_version: str
    outputs: list[InferOutput]
    id: str | None = None


def element_count(shape: tuple[int, ...]) -> int:
    return prod(shape) if shape else 1


def check_shape(spec: TensorSpec, shape: tuple[int, ...]) -> None:
    """Rank must match; fixed dimensions must match; dynamic ones take any size."""
    if len(shape) != len(spec.shape):
        raise InvalidInputError(
            f"input '{spec.name}' has rank {len(shape)}, the model expects "
            f"{len(spec.shape)} (shape {protocol_shape(spec.shape)})"
        )
    for axis, (got, want) in enumerate(zip(shape, spec.shape, strict=True)):
        if isinstance(want, int) and want >= 0 and got != want:
            raise InvalidInputError(
                f"input '{spec.name}' has size {got} on axis {axis}, the model expects "
                f"{want} (shape {protocol_shape(spec.shape)})"
            )


def check_inputs(signature: Signature, inputs: list[InferInput]) -> None:
    """Every model input present once, nothing unknown, datatypes and shapes right."""
    rules = _rules(signature)
    seen: set[str] = set()
    for item in inputs:
        spec = rules.specs.get(item.name)
        if spec is None:
            known = ", ".join(s.name for s in signature.inputs)
            raise InvalidInputError(f"unknown input '{item.name}' (model inputs: {known})")
        if item.name in seen:
            raise InvalidInputError(f"input '{item.name}' given more than once")
        seen.add(item.name)
        if item.datatype != spec.datatype:
            raise InvalidInputError(
                f"input '{item.name}' has datatype {item.datatype}, "
                f"the model expects {spec.datatype}"
            )
        shape = item.shape
        if len(shape) != len(spec.shape) or any(
            shape[axis] != size for axis, size in rules.fixed[item.name]
        ):
            check_shape(spec, shape)  # raises, saying which axis is wrong
    if len(seen) != len(rules.specs):
        missing = [spec.name for spec in signature.inputs if spec.name not in seen]
        raise InvalidInputError(f"missing input(s): {', '.join(missing)}")
    if rules.shared_symbols:
        check_shared_dimensions(signature, inputs)


@dataclass(frozen=True, slots=True)
class _InputRules:
    """A signature's input checks, prepared once: they run on every request."""

    specs: dict[str, TensorSpec]
    fixed: dict[str, tuple[tuple[int, int], ...]]
    """Each input's fixed dimensions as ``(axis, size)``."""
    shared_symbols: bool
    """Whether a symbolic dimension appears more than once (``check_shared_dimensions``)."""

    @classmethod
    def of(cls, signature: Signature) -> _InputRules:
        fixed = {
            spec.name: tuple(
                (axis, dim)
                for axis, dim in enumerate(spec.shape)
                if isinstance(dim, int) and dim >= 0
            )
            for spec in signature.inputs
        }
        symbols = [dim for spec in signature.inputs for dim in spec.shape if isinstance(dim, str)]
        specs = {spec.name: spec for spec in signature.inputs}
        return cls(specs, fixed, len(set(symbols)) != len(symbols))


_PREPARED: dict[int, tuple[Signature, _InputRules]] = {}
"""Rules by the signature's id; the entry holds the signature, so the id stays its own."""
_MAX_PREPARED = 256


def _rules(signature: Signature) -> _InputRules:
    entry = _PREPARED.get(id(signature))
    if entry is not None and entry[0] is signature:
        return entry[1]
    if len(_PREPARED) >= _MAX_PREPARED:
        _PREPARED.clear()
    rules = _InputRules.of(signature)
    _PREPARED[id(signature)] = (signature, rules)
    return rules


def check_shared_dimensions(signature: Signature, inputs: list[InferInput]) -> None:
    """Dimensions that share a symbolic name (``batch``, ``sequence``) take one size
    across all inputs: ``input_ids`` and ``attention_mask`` of different lengths are the
    caller's mistake, found here rather than deep in the runtime."""
    first: dict[str, tuple[str, int, int]] = {}  # symbol -> (input, axis, size)
    for item in inputs:
        spec = signature.input(item.name)
        assert spec is not None  # check_inputs ran first
        for axis, (dim, size) in enumerate(zip(spec.shape, item.shape, strict=True)):
            if not isinstance(dim, str):
                continue
            seen = first.setdefault(dim, (item.name, axis, size))
            if seen[2] != size:
                raise InvalidInputError(
                    f"inputs '{seen[0]}' and '{item.name}' disagree on dimension '{dim}': "
                    f"'{seen[0]}' has {seen[2]} on axis {seen[1]}, '{item.name}' has "
                    f"{size} on axis {axis}"
                )


def signature_mismatch(declared: Signature, graph: Signature) -> str | None:
    """How a manifest's signature differs from what the graph takes and returns, or
    ``None``. Inputs must agree in name, datatype and shape (every later check trusts
    them); outputs in name and datatype."""
    problems = _spec_mismatches("input", declared.inputs, graph.inputs, shapes=True)
    problems += _spec_mismatches("output", declared.outputs, graph.outputs, shapes=False)
    return "; ".join(problems) or None


def _spec_mismatches(
    role: str, declared: tuple[TensorSpec, ...], graph: tuple[TensorSpec, ...], shapes: bool
) -> list[str]:
    actual = {spec.name: spec for spec in graph}
    listed = {spec.name for spec in declared}
    problems = [
        f"the graph has no {role} '{spec.name}'" for spec in declared if spec.name not in actual
    ]
    problems += [
        f"the manifest does not list {role} '{spec.name}'"
        for spec in graph
        if spec.name not in listed
    ]
    for spec in declared:
        real = actual.get(spec.name)
        if real is None:
            continue
        if real.datatype != spec.datatype or (shapes and real.shape != spec.shape):
            problems.append(
                f"{role} '{spec.name}' is {spec.datatype} {_names(spec.shape)} in the "
                f"manifest but {real.datatype} {_names(real.shape)} in the graph"
            )
    return problems


def _names(shape: tuple[int | str | None, ...]) -> str:
    return "[" + ", ".join("?" if dim is None else str(dim) for dim in shape) + "]"


def check_outputs(signature: Signature, requested: list[RequestedOutput] | None) -> None:
    for item in requested or ():
        if signature.output(item.name) is None:
            known = ", ".join(s.name for s in signature.outputs)
            raise InvalidInputError(f"unknown output '{item.name}' (model outputs: {known})")


def protocol_shape(shape: tuple[int | str | None, ...]) -> str:
    """A shape as the Open Inference Protocol writes it: ``[-1, 4]`` (-1: dynamic)."""
    return "[" + ", ".join("-1" if not isinstance(d, int) or d < 0 else str(d) for d in shape) + "]"
