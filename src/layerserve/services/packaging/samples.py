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
from layerserve.services.packaging.ports import Arrays, InputHint

SAMPLE_ROWS = 16
"""Size given to a dynamic leading (batch) dimension: the rows the int8 gate judges."""

SEQUENCE_LENGTH = 16
"""Size given to other dynamic dimensions named like a sequence; the rest get 1."""
_SEQUENCE_WORDS = ("seq", "len", "token", "time", "step", "sentence", "word")

INT_HIGH = 4
"""Integer inputs the graph says nothing about are drawn from ``[0, INT_HIGH)``."""


def generate_samples(
    signature: Signature,
    hints: Mapping[str, InputHint] | None = None,
    rows: int = SAMPLE_ROWS,
    seed: int = 0,
) -> Arrays:
    """Deterministic inputs for ``signature`` within what ``hints`` say each accepts;
    a named dimension gets one size everywhere."""
    rng = np.random.default_rng(seed)
    sizes: dict[str, int] = {}
    known = hints or {}
    return {
        spec.name: _random(
            spec.datatype, _concrete(spec.shape, rows, sizes), rng, known.get(spec.name)
        )
        for spec in signature.inputs
    }


def _concrete(shape: tuple[Dim, ...], rows: int, sizes: dict[str, int]) -> tuple[int, ...]:
    dims: list[int] = []
    for position, dim in enumerate(shape):
        default = rows if position == 0 else 1
        if isinstance(dim, int):
            dims.append(dim)
        elif isinstance(dim, str):
            longer = position > 0 and any(word in dim.lower() for word in _SEQUENCE_WORDS)
            dims.append(sizes.setdefault(dim, SEQUENCE_LENGTH if longer else default))
        else:
            dims.append(default)
    return tuple(dims)


def _random(
    datatype: str,
    shape: tuple[int, ...],
    rng: np.random.Generator,
    hint: InputHint | None = None,
) -> np.ndarray[Any, Any]:
    hint = hint or InputHint()
    if datatype == "BYTES":
        return _strings(shape, rng, hint)
    dtype = numpy_dtype(datatype)
    if hint.mask and dtype.kind in "biu":
        return _mask(shape).astype(dtype)
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(dtype)
    if hint.categories:
        return _choose(shape, rng, hint).astype(dtype)
    low, high = _int_range(hint)
    return rng.integers(low, high, shape).astype(dtype)


def _int_range(hint: InputHint) -> tuple[int, int]:
    high = INT_HIGH if hint.high is None else hint.high
    low = 0 if hint.low is None else hint.low
    return low, max(high, low + 1)


def _mask(shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    """Ones, with the end of every other row padded (as a tokenizer pads a batch)."""
    mask = np.ones(shape, np.int64)
    if len(shape) >= 2 and shape[-1] > 1:
        for row in range(1, shape[0], 2):
            mask[row, ..., shape[-1] - shape[-1] // (row + 1) :] = 0
    return mask


def _choose(
    shape: tuple[int, ...], rng: np.random.Generator, hint: InputHint
) -> np.ndarray[Any, Any]:
    """Known categories, column by column (the last axis holds the columns)."""
    values = np.empty(shape, dtype=object)
    columns = shape[-1] if shape else 1
    for column in range(columns):
        choices = hint.categories.get(column) or hint.categories.get(None)
        if choices is None:
            choices = next(iter(hint.categories.values()))
        picked = rng.choice(np.asarray(choices, dtype=object), shape[:-1] if shape else ())
        if shape:
            values[..., column] = picked
        else:
            values[()] = picked
    return values


def _strings(
    shape: tuple[int, ...], rng: np.random.Generator, hint: InputHint
) -> np.ndarray[Any, Any]:
    if hint.categories:
        return _choose(shape, rng, hint)
    count = int(np.prod(shape))
    if hint.words:
        vocabulary = np.asarray(hint.words, dtype=object)
        texts = [" ".join(rng.choice(vocabulary, rng.integers(3, 8))) for _ in range(count)]
        return np.asarray(texts, dtype=object).reshape(shape)
    words = [f"sample-{value}" for value in rng.integers(0, INT_HIGH, count)]
    return np.asarray(words, dtype=object).reshape(shape)


def tried(
    signature: Signature,
    samples: Mapping[str, np.ndarray[Any, Any]],
    hints: Mapping[str, InputHint],
) -> str:
    """What the generated samples were, input by input (for error messages)."""
    return "; ".join(
        f"'{spec.name}' {spec.datatype} {list(samples[spec.name].shape)} "
        f"{_values(samples[spec.name], hints.get(spec.name))}"
        for spec in signature.inputs
    )


def _values(array: np.ndarray[Any, Any], hint: InputHint | None) -> str:
    because = f" ({'; '.join(hint.because)})" if hint and hint.because else ""
    if array.dtype.kind in "iub" and array.size:
        return f"values {int(array.min())}..{int(array.max())}{because}"
    if array.dtype.kind == "O":
        return f"strings such as {str(array.ravel()[0])!r}{because}"
    return f"standard normal values{because}"


def npz_form(signature: Signature) -> str:
    """How to give samples: ``--sample FILE.npz`` and the arrays it must hold."""
    arrays = ", ".join(
        f"{spec.name}={_dtype_name(spec.datatype)}{list(spec.shape)}" for spec in signature.inputs
    )
    return f"--sample FILE.npz (numpy.savez) with arrays {arrays}"


def _dtype_name(datatype: str) -> str:
    return "str" if datatype == "BYTES" else str(numpy_dtype(datatype))


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
