"""One wire protocol for both transports: a batch result line and the HTTP answer to the
same request are the same document, apart from the line's own keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from layerserve.bootstrap import build_inference_service
from layerserve.domain.batch import BatchLayout
from layerserve.services.batch import BatchOptions, BatchService
from layerserve.settings import InferenceSettings
from tests import onnx_builders
from tests.apigw import http_api_event, reply
from tests.batch_support import MemoryObjects, run_to_end
from tests.conftest import Invoke
from tests.packaged import package

LINE_KEYS = {"line", "model_name", "model_version", "model_sha256"}
"""What a result line adds: its input line, and the model that produced it."""
ANSWER_KEYS = {"model_name", "model_version"}

# Values that are not exact in FP32 (0.1) and strings beyond ASCII: the formatting, not
# just the numbers, must agree.
A = [0.1, 2.5, -3.25, 1e-7]
B = [10.0, 0.2, 30.5, -4.0]
CASES: dict[str, list[Any]] = {
    "addmul": [{"a": A, "b": B}, {"a": B, "b": A}, {"a": A, "b": A}],  # two outputs: objects
    "addmul-1d": [{"a": a, "b": b} for a, b in zip(A, B, strict=True)],  # numbers per row
    "mlp": [[round(0.1 * i - j, 3) for i in range(16)] for j in range(3)],  # one output, rank 2
    "classifier": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [0.0] * 4],  # INT64 + FP32 out
    "echo": ["hé", "", "x y"],  # BYTES, rank 1
    "id-bytes-2d": [["hé", "a"], ["", "x y"]],  # BYTES, rank 2
    "id-fp16": [[0.1, 0.2, 65504.0], [1.5, -2.0, 0.0]],
    "id-bool": [[True, False, True], [False, False, True]],
    "id-uint64": [[2**62, 0, 1], [9, 7, 2**53 + 1]],
    "id-int8": [[-128, 0, 127], [1, 2, 3]],
}
DATATYPES = {"echo": "BYTES", "id-bytes-2d": "BYTES", "id-fp16": "FP16", "id-bool": "BOOL"}
DATATYPES |= {"id-uint64": "UINT64", "id-int8": "INT8"}


@pytest.fixture(scope="module")
def models_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A layer of every case's model (``inference_handler`` serves this fixture's root)."""
    layer = tmp_path_factory.mktemp("agreement")
    models = {
        "addmul": onnx_builders.add_mul(),
        "addmul-1d": onnx_builders.add_mul(None),
        "mlp": onnx_builders.mlp(),
        "classifier": onnx_builders.classifier(),
        "echo": onnx_builders.string_echo(),
        "id-bytes-2d": onnx_builders.identity("BYTES", ("batch", 2)),
    }
    for name in ("id-fp16", "id-bool", "id-uint64", "id-int8"):
        models[name] = onnx_builders.identity(DATATYPES[name], ("batch", 3))
    for name, model in models.items():
        package(model, layer, name, "1")
    return layer / "models"


def _v2_body(model: str, instances: list[Any]) -> dict[str, Any]:
    """The V2 request that carries the same instances."""
    datatype = DATATYPES.get(model, "FP32")
    first = instances[0]
    names = sorted(first) if isinstance(first, dict) else ["text" if model == "echo" else "x"]
    inputs = []
    for name in names:
        column = [row[name] for row in instances] if isinstance(first, dict) else instances
        shape = [len(column), len(column[0])] if isinstance(column[0], list) else [len(column)]
        inputs.append({"name": name, "datatype": datatype, "shape": shape, "data": column})
    return {"id": f"req-{model}", "inputs": inputs}


def _http(invoke: Invoke, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = reply(invoke(http_api_event("POST", path, body)))
    assert answer.status == 200, answer.body
    assert answer.headers["content-type"] == "application/json"
    document: dict[str, Any] = json.loads(answer.body)
    return document


def _batch_lines(
    models_root: Path, scratch: Path, model: str, lines: list[Any], batch_size: int
) -> list[dict[str, Any]]:
    objects = MemoryObjects()
    inference = build_inference_service(
        InferenceSettings(models_dir=models_root, scratch_dir=scratch, preload="none")
    )
    service = BatchService(
        inference, objects, objects, BatchLayout(), BatchOptions(batch_size=batch_size)
    )
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    source = objects.add(f"inputs/{model}/1/agree.jsonl", body)
    (outcome,) = run_to_end(service, source)
    assert outcome.status == "succeeded"
    result = objects.get(f"outputs/{model}/1/agree.jsonl.result.jsonl")
    return [json.loads(line) for line in result.decode().splitlines()]


def _without(document: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in keys}


@pytest.mark.parametrize("batch_size", [1, 8], ids=["alone", "batched"])
@pytest.mark.parametrize("model", sorted(CASES))
def test_batch_lines_are_the_http_answers(
    model: str, batch_size: int, inference_handler: Invoke, models_root: Path, tmp_path: Path
) -> None:
    instances = CASES[model]
    v1 = {"instances": instances}
    v2 = _v2_body(model, instances)
    # Batched, the instance lines run with each other and their rows are split back.
    lines = [v1, {"instances": instances[:1]}, v2, instances[1]]
    results = _batch_lines(models_root, tmp_path / "scratch", model, lines, batch_size)
    assert [result.get("error") for result in results] == [None] * 4

    answers = [
        _http(inference_handler, f"/v1/models/{model}/versions/1:predict", v1),
        _http(inference_handler, f"/v1/models/{model}/versions/1:predict", lines[1]),
        _http(inference_handler, f"/v2/models/{model}/versions/1/infer", v2),
    ]
    for result, answer in zip(results, answers, strict=False):
        assert _without(result, LINE_KEYS) == _without(answer, ANSWER_KEYS)
        assert {key: result[key] for key in ANSWER_KEYS} == {
            key: answer[key] for key in ANSWER_KEYS
        }
    # A single instance's line holds its row of the answer for all instances.
    assert results[3]["prediction"] == answers[0]["predictions"][1]
