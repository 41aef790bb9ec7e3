"""The data plane without a transport: one call in, one answer out, every outcome observed
with the status and error kind the caller's failure gets."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from layerserve.api.response_size import LambdaPayloadLimit
from layerserve.bootstrap import build_inference_service
from layerserve.domain.errors import (
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    ResponseTooLargeError,
)
from layerserve.services.data_plane import DataPlane, InferCall
from layerserve.services.telemetry import RequestOutcome
from layerserve.settings import InferenceSettings

ROW = [1.0, 2.0, 3.0]


class Recorder:
    def __init__(self) -> None:
        self.outcomes: list[RequestOutcome] = []

    def observe(self, outcome: RequestOutcome) -> None:
        self.outcomes.append(outcome)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def plane(models_root: Path, tmp_path: Path, recorder: Recorder) -> DataPlane:
    settings = InferenceSettings(models_dir=models_root, scratch_dir=tmp_path, preload="none")
    return DataPlane(build_inference_service(settings), recorder, LambdaPayloadLimit(4096))


def _v2(rows: int) -> bytes:
    data = ROW * rows
    spec = {"name": "x", "datatype": "FP32", "shape": [rows, 3], "data": data}
    return orjson.dumps({"id": "r1", "inputs": [spec]})


def test_a_v2_call_is_answered_and_observed(plane: DataPlane, recorder: Recorder) -> None:
    answer = plane.infer(InferCall("v2", "id-fp32", "1", body=_v2(2), request_id="req-1"))
    assert answer.content_type == "application/json" and answer.header_length is None
    document = orjson.loads(answer.body)
    assert document["outputs"][0]["data"] == ROW * 2 and document["id"] == "r1"
    (outcome,) = recorder.outcomes
    assert (outcome.route, outcome.status, outcome.error_kind) == ("v2", 200, None)
    assert (outcome.model, outcome.version, outcome.batch_size) == ("id-fp32", "1", 2)
    assert outcome.request_id == "req-1" and outcome.run_s is not None
    assert outcome.input_elements == 6 and outcome.latency_s >= outcome.run_s


def test_a_v1_call_is_answered_with_predictions(plane: DataPlane, recorder: Recorder) -> None:
    body = orjson.dumps({"instances": [ROW, ROW]})
    answer = plane.infer(InferCall("v1", "id-fp32", None, body=body))
    document = orjson.loads(answer.body)
    assert document == {"predictions": [ROW, ROW], "model_name": "id-fp32", "model_version": "1"}
    assert recorder.outcomes[0].route == "v1"


def test_a_binary_answer_names_its_header_length(plane: DataPlane) -> None:
    spec = {"name": "x", "datatype": "FP32", "shape": [1, 3], "data": ROW}
    body = orjson.dumps({"inputs": [spec], "parameters": {"binary_data_output": True}})
    answer = plane.infer(InferCall("v2", "id-fp32", "1", body=body))
    assert answer.content_type == "application/octet-stream"
    assert answer.header_length is not None and len(answer.body) == answer.header_length + 12


def test_a_callers_error_is_observed_as_its_status(plane: DataPlane, recorder: Recorder) -> None:
    with pytest.raises(InvalidInputError):
        plane.infer(InferCall("v2", "id-fp32", "1", body=b"{not json"))
    (outcome,) = recorder.outcomes
    assert (outcome.status, outcome.error_kind, outcome.version) == (400, "client", "1")


def test_an_unknown_model_is_observed_unresolved(plane: DataPlane, recorder: Recorder) -> None:
    with pytest.raises(NotFoundError):
        plane.infer(InferCall("v2", "no-such-model", None, body=_v2(1)))
    (outcome,) = recorder.outcomes
    assert (outcome.status, outcome.error_kind, outcome.version) == (404, "client", None)


def test_an_answer_past_the_limit_is_the_callers(plane: DataPlane, recorder: Recorder) -> None:
    with pytest.raises(ResponseTooLargeError, match="binary outputs"):
        plane.infer(InferCall("v2", "id-fp32", "1", body=_v2(400)))
    (outcome,) = recorder.outcomes
    assert (outcome.status, outcome.error_kind, outcome.batch_size) == (400, "client", 400)


def test_a_refused_body_is_observed(plane: DataPlane, recorder: Recorder) -> None:
    plane.refused(InferCall("v1", "id-fp32", None, started=0.0), PayloadTooLargeError("big"))
    (outcome,) = recorder.outcomes
    assert (outcome.route, outcome.status, outcome.error_kind) == ("v1", 413, "client")
    assert outcome.version is None and outcome.latency_s > 0
