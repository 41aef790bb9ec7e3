"""Sample inputs for the quantisation gate and the baseline: generated or supplied."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from layerserve.domain.datatypes import numpy_dtype
from layerserve.domain.errors import InvalidInputError
from layerserve.domain.manifest import Dim, Signature, TensorSpec
from layerserve.services.packaging.ports import Arrays

SAMPLE_ROWS = 8
"""Size given to a dynamic leading (batch) dimension; other dynamic dimensions get 1."""

INT_HIGH = 4
"""Integer inputs are drawn from ``[0, INT_HIGH)``: valid as small indices, ids or counts."""


def generate_samples(signature: Signature, rows: int = SAMPLE_ROWS, seed: int = 0) -> Arrays:
    """Deterministic inputs for ``signature``; a named dimension gets one size everywhere."""
    rng = np.random.default_rng(seed)
    sizes: dict[str, int] = {}
    return {
        spec.name: _random(spec.datatype, _concrete(spec.shape, rows, sizes), rng)
        for spec in signature.inputs
    }


def _concrete(shape: tuple[Dim, ...], rows: int, sizes: dict[str, int]) -> tuple[int, ...]:
    dims: list[int] = []
    for position, dim in enumerate(shape):
        default = rows if position == 0 else 1
        if isinstance(dim, int):
            dims.append(dim)
        elif isinstance(dim, str):
            dims.append(sizes.setdefault(dim, default))
        else:
            dims.append(default)
    return tuple(dims)


def _random(
    datatype: str, shape: tuple[int, ...], rng: np.random.Generator
) -> np.ndarray[Any, Any]:
    if datatype == "BYTES":
        words = [f"sample-{value}" for value in rng.integers(0, INT_HIGH, shape).ravel()]
        return np.asarray(words, dtype=object).reshape(shape)
    dtype = numpy_dtype(datatype)
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(dtype)
    return rng.integers(0, INT_HIGH, shape).astype(dtype)


def check_samples(signature: Signature, arrays: Mapping[str, np.ndarray[Any, Any]]) -> Arrays:
    """Supplied samples, named like the inputs, cast to the model's datatypes."""
    expected = [spec.name for spec in signature.inputs]
    for name in arrays:
        if name not in expected:
            raise InvalidInputError(
                f"sample '{name}' is not a model input (inputs: {', '.join(expected) or 'none'})"
            )
    return {spec.name: _conform(spec, arrays) for spec in signature.inputs}


def _conform(spec: TensorSpec, arrays: Mapping[str, np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
    if spec.name not in arrays:
        raise InvalidInputError(f"samples lack the model input '{spec.name}'")
    array = np.asarray(arrays[spec.name])
    if len(array.shape) != len(spec.shape) or any(
        isinstance(want, int) and want != got
        for want, got in zip(spec.shape, array.shape, strict=True)
    ):
        raise InvalidInputError(
            f"sample '{spec.name}' has shape {list(array.shape)}, "
            f"the model expects {list(spec.shape)}"
        )
    if spec.datatype == "BYTES":
        if array.dtype.kind not in "OSU":
            raise InvalidInputError(
                f"sample '{spec.name}' is {array.dtype}, the model expects strings"
            )
        return array.astype(object)
    target = numpy_dtype(spec.datatype)
    if not np.can_cast(array.dtype, target, casting="same_kind"):
        raise InvalidInputError(
            f"sample '{spec.name}' is {array.dtype}, the model expects {spec.datatype}"
        )
    return array.astype(target)


def read_npz(path: Path) -> Arrays:
    """Arrays of an ``.npz`` file (``numpy.savez``), without unpickling anything."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise InvalidInputError(f"samples file {path} is not an .npz archive (numpy.savez)")
        with loaded:
            return {name: loaded[name] for name in loaded.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InvalidInputError(f"cannot read samples from {path}: {exc}") from exc


def sample_count(samples: Mapping[str, np.ndarray[Any, Any]]) -> int:
    """How many rows the samples hold: the leading dimension of the first input."""
    first = next(iter(samples.values()), None)
    return int(first.shape[0]) if first is not None and first.ndim > 0 else 1
