"""What the graph says about the values each input accepts, read from the operators it
feeds: embedding tables (``Gather``), category lists (``OneHotEncoder``, ``LabelEncoder``,
``CategoryMapper``), vocabularies (``TfIdfVectorizer``) and one-hot depths."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import onnx
from onnx import numpy_helper

from layerserve.services.packaging.ports import InputHint

_VALUE_PRESERVING = frozenset(
    {"Identity", "Cast", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Expand", "Concat",
     "Transpose", "StringNormalizer", "Tokenizer", "StringSplit"}
)  # fmt: skip
"""Operators whose output holds (some of) the input's values, unchanged."""
_KEEPS_COLUMNS = frozenset({"Identity", "Cast", "StringNormalizer", "Expand"})
_CATEGORY_KEYS = {
    "OneHotEncoder": ("cats_strings", "cats_int64s"),
    "LabelEncoder": ("keys_strings", "keys_int64s"),
    "CategoryMapper": ("cats_strings", "cats_int64s"),
}
MASK_WORDS = ("mask",)
_SMALL = 1024
"""Elements of a stored tensor worth reading for a hint (tables are only measured)."""
TOKEN_TYPE_WORDS = ("token_type", "segment")


@dataclass(frozen=True, slots=True)
class _Reach:
    """A tensor carrying an input's values; ``column``: the one column it holds, if known."""

    tensor: str
    column: int | None


class _Graph:
    def __init__(self, graph: onnx.GraphProto) -> None:
        self.consumers: dict[str, list[tuple[onnx.NodeProto, int]]] = defaultdict(list)
        for node in graph.node:
            for index, name in enumerate(node.input):
                self.consumers[name].append((node, index))
        self.stored: dict[str, onnx.TensorProto] = {t.name: t for t in graph.initializer}
        for node in graph.node:
            if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
                self.stored[node.output[0]] = node.attribute[0].t

    def shape(self, name: str) -> tuple[int, ...] | None:
        """The dimensions of a stored tensor, without reading its values."""
        tensor = self.stored.get(name)
        return None if tensor is None else tuple(tensor.dims)

    def constant(self, name: str) -> np.ndarray | None:
        """A small stored tensor's values (indices, depths)."""
        tensor = self.stored.get(name)
        if tensor is None or int(np.prod(tensor.dims)) > _SMALL:
            return None
        return numpy_helper.to_array(tensor)


def input_hints(graph: onnx.GraphProto, inputs: list[str]) -> dict[str, InputHint]:
    view = _Graph(graph)
    found = {name: _hint(view, name) for name in inputs}
    return {name: hint for name, hint in found.items() if hint != InputHint()}


def _hint(view: _Graph, name: str) -> InputHint:
    hint = InputHint()
    lowered = name.lower()
    if any(word in lowered for word in MASK_WORDS):
        hint = replace(hint, mask=True, because=(f"'{name}' is named like an attention mask",))
    for node, index, column in _uses(view, name):
        hint = _learn(view, hint, node, index, column)
    if any(word in lowered for word in TOKEN_TYPE_WORDS) and hint.high is None:
        hint = replace(
            hint, low=0, high=2, because=(*hint.because, f"'{name}' is named like token types")
        )
    return hint


def _uses(view: _Graph, name: str) -> Iterator[tuple[onnx.NodeProto, int, int | None]]:
    """Every node that reads ``name``'s values, with the input slot and the column."""
    queue, seen = deque([_Reach(name, None)]), {name}
    while queue:
        reach = queue.popleft()
        for node, index in view.consumers.get(reach.tensor, []):
            yield node, index, reach.column
            for nxt in _passes(view, node, index, reach.column):
                if nxt.tensor not in seen:
                    seen.add(nxt.tensor)
                    queue.append(nxt)


def _passes(view: _Graph, node: onnx.NodeProto, index: int, column: int | None) -> Iterator[_Reach]:
    if node.op_type in _VALUE_PRESERVING and (index == 0 or node.op_type == "Concat"):
        kept = column if node.op_type in _KEEPS_COLUMNS else None
        yield from (_Reach(out, kept) for out in node.output if out)
    elif index == 0 and _selects_columns(node):
        yield _Reach(node.output[0], _single(view.constant(node.input[1])))


def _selects_columns(node: onnx.NodeProto) -> bool:
    if node.op_type == "ArrayFeatureExtractor":
        return True
    return node.op_type == "Gather" and _attr(node, "axis", 0) in (1, -1)


def _single(indices: np.ndarray | None) -> int | None:
    return int(indices.ravel()[0]) if indices is not None and indices.size == 1 else None


def _attr(node: onnx.NodeProto, name: str, default: int) -> int:
    for attr in node.attribute:
        if attr.name == name:
            return int(attr.i)
    return default


def _learn(
    view: _Graph, hint: InputHint, node: onnx.NodeProto, index: int, column: int | None
) -> InputHint:
    label = f"{node.op_type} '{node.name}'" if node.name else node.op_type
    if node.op_type == "Gather" and index == 1:
        table = view.shape(node.input[0])
        if table:
            rows = int(table[_attr(node, "axis", 0) % len(table)])
            return _narrow(hint, rows, f"{label} reads a table of {rows} rows")
    if node.op_type == "OneHot" and index == 0:
        depth = view.constant(node.input[1])
        if depth is not None and depth.size == 1:
            return _narrow(
                hint, int(depth.ravel()[0]), f"{label} has depth {int(depth.ravel()[0])}"
            )
    if node.op_type in _CATEGORY_KEYS and index == 0:
        return _categories(hint, node, column, label)
    if node.op_type == "TfIdfVectorizer" and index == 0:
        words = tuple(dict.fromkeys(_strings(node, "pool_strings")))
        if words:
            return replace(hint, words=words, because=(*hint.because, f"vocabulary of {label}"))
    return hint


def _narrow(hint: InputHint, rows: int, because: str) -> InputHint:
    high = rows if hint.high is None else min(hint.high, rows)
    return replace(hint, low=0, high=high, because=(*hint.because, because))


def _strings(node: onnx.NodeProto, name: str) -> list[str]:
    for attr in node.attribute:
        if attr.name == name:
            return [value.decode("utf-8", "replace") for value in attr.strings]
    return []


def _categories(hint: InputHint, node: onnx.NodeProto, column: int | None, label: str) -> InputHint:
    strings_key, ints_key = _CATEGORY_KEYS[node.op_type]
    values: tuple[str | int, ...] = tuple(_strings(node, strings_key))
    if not values:
        values = tuple(
            int(v) for attr in node.attribute if attr.name == ints_key for v in attr.ints
        )
    if not values or column in hint.categories:
        return hint
    where = "" if column is None else f" (column {column})"
    known = {**hint.categories, column: values}
    return replace(hint, categories=known, because=(*hint.because, f"categories of {label}{where}"))


def reaching_inputs(graph: onnx.GraphProto, inputs: list[str]) -> dict[str, frozenset[str]]:
    """By node name: the graph inputs whose values flow into it."""
    carried: dict[str, frozenset[str]] = {name: frozenset({name}) for name in inputs}
    reaches: dict[str, frozenset[str]] = {}
    for node in graph.node:  # ONNX graphs are topologically sorted
        upstream = frozenset().union(*(carried.get(name, frozenset()) for name in node.input))
        for out in node.output:
            carried[out] = upstream
        if node.name:
            reaches[node.name] = upstream
    return reaches
