"""Hostile lines through the real batch handler (moto): every kind at the first, a middle
and the last line of a file. Each file ends with a result and a summary; the bad line
gets its ``error`` entry, the good lines their correct predictions, the counts add up.

The codecs are used as they are: some of these lines raise exceptions that are not
``LayerserveError`` deep inside decoding (a ``TypeError`` for ``null`` in INT64 data, a
``ValueError`` for a huge empty dimension, a ``RuntimeError`` for 33+ levels of
nesting); the batch path must turn whatever a line raises into that line's error.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests import onnx_builders
from tests.batch_support import BatchStack, batch_stack
from tests.packaged import package

LINES = 9
POSITIONS = (0, LINES // 2, LINES - 1)
MONSTER_VALUES = 3 * 270_000  # a ~7 MB line whose result line is larger than 6 MB


@pytest.fixture(scope="module")
def hostile_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    layer = tmp_path_factory.mktemp("hostile-layer")
    package(onnx_builders.identity("INT64", ("batch", 3)), layer, "id-int64", "1")
    package(onnx_builders.identity("FP32", ("batch", 3)), layer, "id-fp32", "1")
    package(onnx_builders.identity("BYTES", ("n",)), layer, "id-bytes", "1")
    package(onnx_builders.add_mul(), layer, "addmul", "1")
    package(onnx_builders.gather(), layer, "gather", "1")
    return layer / "models"


@pytest.fixture
def stack(
    hostile_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BatchStack]:
    with batch_stack(hostile_models, tmp_path / "scratch", monkeypatch) as built:
        yield built


def _v2(*inputs: tuple[str, str, list[int], Any]) -> dict[str, Any]:
    return {"inputs": [{"name": n, "datatype": d, "shape": s, "data": v} for n, d, s, v in inputs]}


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


Good = Callable[[int], tuple[Any, Callable[[dict[str, Any]], Any], Any]]
"""Line ``i``'s request, how to read its answer from the result line, the answer."""


def _int64_v2(i: int) -> tuple[Any, Callable[[dict[str, Any]], Any], Any]:
    return _v2(("x", "INT64", [1, 3], [i, i, i])), _data("y"), [i, i, i]


def _fp32_v2(i: int) -> tuple[Any, Callable[[dict[str, Any]], Any], Any]:
    return _v2(("x", "FP32", [1, 3], [i, i, i])), _data("y"), [i, i, i]


def _bytes_v2(i: int) -> tuple[Any, Callable[[dict[str, Any]], Any], Any]:
    return _v2(("x", "BYTES", [1], [f"s{i}"])), _data("y"), [f"s{i}"]


def _addmul_v2(i: int) -> tuple[Any, Callable[[dict[str, Any]], Any], Any]:
    request = _v2(("a", "FP32", [1, 4], [i] * 4), ("b", "FP32", [1, 4], [1] * 4))
    return request, _data("sum"), [i + 1] * 4


def _gather_v2(i: int) -> tuple[Any, Callable[[dict[str, Any]], Any], Any]:
    return _v2(("idx", "INT64", [1], [i])), _data("y"), [i]


def _int64_v1(i: int) -> tuple[Any, Callable[[dict[str, Any]], Any], Any]:
    return [i, i, i], _prediction, [i, i, i]


def _gather_v1(i: int) -> tuple[Any, Callable[[dict[str, Any]], Any], Any]:
    return i, _prediction, [i]


def _data(name: str) -> Callable[[dict[str, Any]], Any]:
    def read(result: dict[str, Any]) -> Any:
        (output,) = [out for out in result["outputs"] if out["name"] == name]
        return output["data"]

    return read


def _prediction(result: dict[str, Any]) -> Any:
    return result["prediction"]


@dataclass(frozen=True)
class Kind:
    model: str
    bad: Any
    good: Good
    error: str | None = "any"
    """A fragment of the bad line's error; ``None``: the line is valid and gets a result."""


KINDS = {
    "null in INT64 data": Kind("id-int64", _v2(("x", "INT64", [1, 3], [1, None, 3])), _int64_v2),
    "object in INT64 data": Kind(
        "id-int64", _v2(("x", "INT64", [1, 3], [1, {"a": 1}, 3])), _int64_v2
    ),
    "null in nested INT64 data": Kind(
        "id-int64", _v2(("x", "INT64", [1, 3], [[1, None, 3]])), _int64_v2
    ),
    "huge empty dimension": Kind(
        "id-int64", _v2(("x", "INT64", [0, 9223372036854775807], [])), _int64_v2
    ),
    "BYTES nested 40 levels": Kind("id-bytes", _v2(("x", "BYTES", [1], _nested(40))), _bytes_v2),
    "batch sizes disagree": Kind(
        "addmul", _v2(("a", "FP32", [2, 4], [1] * 8), ("b", "FP32", [3, 4], [1] * 12)), _addmul_v2
    ),
    "index out of a Gather's range": Kind("gather", _v2(("idx", "INT64", [1], [99])), _gather_v2),
    "V1 null in INT64": Kind("id-int64", [1, None, 3], _int64_v1),
    "V1 index out of a Gather's range": Kind("gather", 99, _gather_v1),
    "invalid JSON": Kind("id-int64", b'{"inputs": [{"name": "x",', _int64_v2),
    "an empty line": Kind("id-int64", b"   ", _int64_v2),
    "a response-sized monster": Kind(
        "id-fp32",
        _v2(("x", "FP32", [MONSTER_VALUES // 3, 3], [0.123456] * MONSTER_VALUES)),
        _fp32_v2,
        error=None,
    ),
}


def _jsonl(lines: list[Any]) -> bytes:
    """One line per item; ``bytes`` items are written as they are."""
    raw = [line if isinstance(line, bytes) else json.dumps(line).encode() for line in lines]
    return b"".join(line + b"\n" for line in raw)


def _results(stack: BatchStack, key: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stack.get(key).decode().splitlines()]


@pytest.mark.parametrize("position", POSITIONS, ids=["first", "middle", "last"])
@pytest.mark.parametrize("name", list(KINDS))
def test_a_hostile_line_costs_only_itself(stack: BatchStack, name: str, position: int) -> None:
    kind = KINDS[name]
    goods = [kind.good(i) for i in range(LINES)]
    lines = [request for request, _, _ in goods]
    lines[position] = kind.bad
    file = f"{name.replace(' ', '-')}-{position}.jsonl"
    (outcome,) = stack.invoke(stack.upload(f"inputs/{kind.model}/{file}", _jsonl(lines)))[
        "outcomes"
    ]
    output = f"outputs/{kind.model}/{file}"

    bad = 0 if kind.error is None else 1
    assert (outcome["status"], outcome["records"], outcome["errors"]) == ("succeeded", LINES, bad)
    results = _results(stack, f"{output}.result.jsonl")
    assert [r["line"] for r in results] == list(range(1, LINES + 1))
    for index, (result, (_, read, expected)) in enumerate(zip(results, goods, strict=True)):
        if index != position:
            assert read(result) == expected, result
    hostile = results[position]
    if kind.error is None:
        assert len(hostile["outputs"][0]["data"]) == MONSTER_VALUES
    else:
        assert hostile["error"] and "outputs" not in hostile and "prediction" not in hostile
    summary = stack.get_json(f"{output}.summary.json")
    assert (summary["records"], summary["ok"], summary["errors"]) == (LINES, LINES - bad, bad)
    assert [s["line"] for s in summary["error_samples"]] == [position + 1] * bad
    assert stack.keys(f"{output}.error.json") == []


@pytest.mark.parametrize("position", POSITIONS, ids=["first", "middle", "last"])
def test_a_csv_row_out_of_a_gathers_range(stack: BatchStack, position: int) -> None:
    rows = [str(i) for i in range(LINES)]
    rows[position] = "99"
    body = ("\n".join(rows) + "\n").encode()
    key = f"gather/rows-{position}.csv"
    (outcome,) = stack.invoke(stack.upload(f"inputs/{key}", body))["outcomes"]
    assert (outcome["status"], outcome["records"], outcome["errors"]) == ("succeeded", LINES, 1)
    results = _results(stack, f"outputs/{key}.result.jsonl")
    for index, result in enumerate(results):
        if index == position:
            assert "out of" in result["error"] or "bounds" in result["error"]
        else:
            assert result["prediction"] == [index]


def test_every_hostile_kind_in_one_file_of_one_model(stack: BatchStack) -> None:
    """All INT64 kinds mixed with good lines, batched several to a model run."""
    kinds = [kind for kind in KINDS.values() if kind.model == "id-int64"]
    lines: list[Any] = []
    for index in range(40):
        lines.append(kinds[index % len(kinds)].bad if index % 5 == 2 else _int64_v2(index)[0])
    (outcome,) = stack.invoke(stack.upload("inputs/id-int64/mixed.jsonl", _jsonl(lines)))[
        "outcomes"
    ]
    assert (outcome["records"], outcome["errors"]) == (40, 8)
    results = _results(stack, "outputs/id-int64/mixed.jsonl.result.jsonl")
    for index, result in enumerate(results):
        if index % 5 == 2:
            assert "error" in result
        else:
            assert result["outputs"][0]["data"] == [index] * 3


def _npy(array: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_an_array_row_the_model_rejects_ends_in_an_error_object_naming_it(
    stack: BatchStack,
) -> None:
    indexes = np.arange(1000, dtype=np.int64) % 10
    indexes[637] = 99
    (outcome,) = stack.invoke(stack.upload("inputs/gather/idx.npy", _npy(indexes)))["outcomes"]
    assert outcome["status"] == "failed"
    error = stack.get_json("outputs/gather/idx.npy.error.json")
    assert error["error"].startswith("array row 637: ")
    assert "idx=99" in error["error"]
    assert stack.keys("outputs/gather/idx.npy.result") == []
    assert stack.open_uploads() == []


def test_good_array_rows_still_run_in_one_file(stack: BatchStack) -> None:
    indexes = np.arange(1000, dtype=np.int64) % 10
    (outcome,) = stack.invoke(stack.upload("inputs/gather/ok.npy", _npy(indexes)))["outcomes"]
    assert outcome["status"] == "succeeded"
    result = np.load(io.BytesIO(stack.get("outputs/gather/ok.npy.result.npz")))
    np.testing.assert_array_equal(result["y"][:, 0], indexes.astype(np.float32))
