"""A batch the model fails is halved until the failing lines stand alone: few extra runs,
every good line still answered; outages inside a line still fail the invocation."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerserve.bootstrap import build_inference_service
from layerserve.domain.batch import BatchLayout
from layerserve.domain.errors import (
    InferenceFailedError,
    InvalidInputError,
    ModelNotReadyError,
    ServiceUnavailableError,
)
from layerserve.services.batch import BatchOptions, BatchService
from layerserve.services.batch.failures import fails_more_than_the_line, line_error
from layerserve.services.inference import InferenceService, InferResult
from layerserve.settings import InferenceSettings
from tests import onnx_builders
from tests.batch_support import MemoryObjects, run_to_end
from tests.packaged import package

LINES = 1000
BAD = (0, 500, 999)
BATCH = 256


@pytest.fixture(scope="module")
def gather_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    layer = tmp_path_factory.mktemp("gather-layer")
    package(onnx_builders.gather(), layer, "gather", "1")
    return layer / "models"


class CountingInference(InferenceService):
    """The real service, counting model runs; ``hook`` may raise before a run."""

    runs = 0
    hook: Callable[[Any], None] | None = None

    def infer(self, resolution: Any, request: Any) -> InferResult:
        self.runs += 1
        if self.hook is not None:
            self.hook(request)
        return super().infer(resolution, request)


@pytest.fixture
def inference(gather_models: Path, tmp_path: Path) -> CountingInference:
    built = build_inference_service(
        InferenceSettings(models_dir=gather_models, scratch_dir=tmp_path, preload="none")
    )
    return CountingInference(built.catalog, built.loader)


def _service(inference: InferenceService, objects: MemoryObjects) -> BatchService:
    return BatchService(
        inference,
        objects,
        objects,
        BatchLayout(),
        BatchOptions(batch_size=BATCH),
    )


def _indexes() -> list[int]:
    return [99 if i in BAD else i % 10 for i in range(LINES)]


def _lines(objects: MemoryObjects, key: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in objects.get(key).decode().splitlines()]


@pytest.mark.parametrize("kind", ["v1", "v2"])
def test_three_bad_lines_in_a_thousand_cost_a_few_dozen_runs(
    inference: CountingInference, kind: str
) -> None:
    objects = MemoryObjects()
    rows: list[Any] = _indexes()
    if kind == "v2":
        rows = [{"inputs": [{"name": "idx", "datatype": "INT64", "shape": [1], "data": [i]}]}
                for i in rows]  # fmt: skip
    body = b"".join(json.dumps(row).encode() + b"\n" for row in rows)
    source = objects.add(f"inputs/gather/{kind}.jsonl", body)
    (outcome,) = run_to_end(_service(inference, objects), source)
    assert (outcome.records, outcome.errors) == (LINES, len(BAD))
    results = _lines(objects, f"outputs/gather/{kind}.jsonl.result.jsonl")
    for index, result in enumerate(results):
        if index in BAD:
            assert "idx=99" in result["error"]
        elif kind == "v1":
            assert result["prediction"] == [index % 10]
        else:
            assert result["outputs"][0]["data"] == [index % 10]
    # One run per clean batch; a batch holding one bad line costs about 2*log2(256) more.
    # Line by line it would be more than 3 * 256.
    assert inference.runs <= 4 + 3 * (1 + 2 * 8 + 1)


def test_a_csv_block_is_bisected_too(inference: CountingInference) -> None:
    objects = MemoryObjects()
    body = "".join(f"{i}\n" for i in _indexes()).encode()
    (outcome,) = run_to_end(_service(inference, objects), objects.add("inputs/gather/r.csv", body))
    assert (outcome.records, outcome.errors) == (LINES, len(BAD))
    assert inference.runs <= 4 + 3 * (2 * 8 + 1)


def test_an_outage_inside_a_line_fails_the_invocation(inference: CountingInference) -> None:
    objects = MemoryObjects()
    body = b"".join(b"%d\n" % (i % 10) for i in range(20))

    def unreachable(request: Any) -> None:
        raise ServiceUnavailableError("cannot fetch the artifact: injected")

    inference.hook = unreachable
    with pytest.raises(ServiceUnavailableError):
        run_to_end(_service(inference, objects), objects.add("inputs/gather/o.jsonl", body))
    assert inference.runs == 1  # not retried line by line, not written as line errors
    assert not [key for _, key in objects.objects if key.startswith("outputs/")]


def test_an_unexpected_exception_on_one_line_is_its_error_and_logged(
    inference: CountingInference, caplog: pytest.LogCaptureFixture
) -> None:
    objects = MemoryObjects()
    body = b"".join(b"%d\n" % (i % 10) for i in range(20))

    def breaks_on_seven(request: Any) -> None:
        if 7 in request.inputs[0].array:
            raise KeyError("a bug that only line 8's data reaches")

    inference.hook = breaks_on_seven
    with caplog.at_level(logging.ERROR):
        (outcome,) = run_to_end(
            _service(inference, objects), objects.add("inputs/gather/k.jsonl", body)
        )
    assert (outcome.status, outcome.errors) == ("succeeded", 2)  # lines 8 and 18 hold a 7
    results = _lines(objects, "outputs/gather/k.jsonl.result.jsonl")
    assert [r["line"] for r in results if "error" in r] == [8, 18]
    assert "KeyError" in results[7]["error"]
    logged = [r for r in caplog.records if r.exc_info and "line 8" in r.getMessage()]
    assert logged and logged[0].exc_info is not None


def test_a_batch_that_fails_only_as_a_whole_still_gets_every_result(
    inference: CountingInference,
) -> None:
    """Say the runtime runs out of memory on big batches: halving recovers every line."""
    objects = MemoryObjects()
    body = b"".join(b"%d\n" % (i % 10) for i in range(100))

    def too_big(request: Any) -> None:
        if request.inputs[0].array.shape[0] > 10:
            raise MemoryError("std::bad_alloc")

    inference.hook = too_big
    (outcome,) = run_to_end(
        _service(inference, objects), objects.add("inputs/gather/m.jsonl", body)
    )
    assert (outcome.records, outcome.errors) == (100, 0)
    results = _lines(objects, "outputs/gather/m.jsonl.result.jsonl")
    assert [r["prediction"] for r in results] == [[i % 10] for i in range(100)]


def test_array_rows_that_fail_only_together_are_halved_until_they_run(
    inference: CountingInference,
) -> None:
    objects = MemoryObjects()
    indexes = np.arange(300, dtype=np.int64) % 10
    buffer = io.BytesIO()
    np.save(buffer, indexes)

    def too_big(request: Any) -> None:
        if request.inputs[0].array.shape[0] > 40:
            raise MemoryError("std::bad_alloc")

    inference.hook = too_big
    source = objects.add("inputs/gather/a.npy", buffer.getvalue())
    (outcome,) = run_to_end(_service(inference, objects), source)
    assert outcome.status == "succeeded"
    result = np.load(io.BytesIO(objects.get("outputs/gather/a.npy.result.npz")))
    np.testing.assert_array_equal(result["y"][:, 0], indexes.astype(np.float32))


def test_a_model_that_stops_serving_mid_file_ends_the_job(inference: CountingInference) -> None:
    objects = MemoryObjects()
    body = b"".join(b"%d\n" % (i % 10) for i in range(20))

    def unloadable(request: Any) -> None:
        raise ModelNotReadyError("model 'gather' version '1' failed to load: injected")

    inference.hook = unloadable
    (outcome,) = run_to_end(
        _service(inference, objects), objects.add("inputs/gather/n.jsonl", body)
    )
    assert outcome.status == "failed"
    assert "failed to load" in json.loads(objects.get("outputs/gather/n.jsonl.error.json"))["error"]
    assert inference.runs == 1


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (InvalidInputError("bad shape"), "bad shape"),
        (InferenceFailedError("inference failed: boom"), "inference failed: boom"),
        (TypeError("'<=' not supported\nmore"), "unexpected failure on this input "
         "(TypeError: '<=' not supported)"),
        (ValueError(), "unexpected failure on this input (ValueError)"),
    ],
)  # fmt: skip
def test_what_a_line_error_says(exc: Exception, message: str) -> None:
    assert line_error(exc) == message


@pytest.mark.parametrize(
    "exc", [ServiceUnavailableError("storage down"), ModelNotReadyError("cannot load")]
)
def test_outages_and_unservable_models_are_never_a_lines_error(exc: Exception) -> None:
    assert fails_more_than_the_line(exc)
    with pytest.raises(type(exc)):
        line_error(exc)
