"""The batch use case over in-memory storage and real tiny models: formats, alignment,
batching, deterministic parts, continuation and retries."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerserve.bootstrap import build_inference_service
from layerserve.domain.batch import BatchLayout
from layerserve.domain.errors import ServiceUnavailableError
from layerserve.services.batch import BatchOptions, BatchService, Continuation
from layerserve.settings import InferenceSettings
from tests.batch_support import FixedClock, MemoryObjects, QueueContinuer, run_to_end

A = [1.0, 2.0, 3.0, 4.0]
B = [10.0, 20.0, 30.0, 40.0]


@pytest.fixture
def objects() -> MemoryObjects:
    return MemoryObjects()


@pytest.fixture
def make_service(models_root: Path, tmp_path: Path, objects: MemoryObjects) -> Any:
    inference = build_inference_service(
        InferenceSettings(models_dir=models_root, scratch_dir=tmp_path / "s", preload="none")
    )

    def make(**options: Any) -> BatchService:
        return BatchService(inference, objects, objects, BatchLayout(), BatchOptions(**options))

    return make


def _lines(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.decode().splitlines()]


def _jsonl(rows: list[Any]) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def _v2(
    name: str, datatype: str, shape: list[int], data: list[Any], **extra: Any
) -> dict[str, Any]:
    return {"inputs": [{"name": name, "datatype": datatype, "shape": shape, "data": data}], **extra}


def test_jsonl_lines_of_every_kind_stay_aligned(make_service: Any, objects: MemoryObjects) -> None:
    body = b"\n".join(
        [
            json.dumps({"a": A, "b": B}).encode(),
            json.dumps({"instances": [{"a": A, "b": B}, {"a": B, "b": A}]}).encode(),
            json.dumps(
                {
                    "id": "req-7",
                    "inputs": [
                        {"name": "a", "datatype": "FP32", "shape": [1, 4], "data": A},
                        {"name": "b", "datatype": "FP32", "shape": [1, 4], "data": B},
                    ],
                    "outputs": [{"name": "product"}],
                }
            ).encode(),
            b"this is not json",
            b"",
            json.dumps({"a": [1, 2, 3], "b": [1, 2, 3]}).encode(),
            json.dumps(_v2("a", "INT64", [1, 4], [1, 2, 3, 4])).encode(),
            json.dumps(A).encode(),
            json.dumps({"a": B, "b": B}).encode(),
        ]
    )
    source = objects.add("inputs/addmul/1/mixed.jsonl", body)
    (outcome,) = run_to_end(make_service(batch_size=4), source)
    assert outcome.status == "succeeded"
    results = _lines(objects.get("outputs/addmul/1/mixed.jsonl.result.jsonl"))
    assert [r["line"] for r in results] == list(range(1, 10))
    assert {r["model_name"] for r in results} == {"addmul"}
    assert {r["model_version"] for r in results} == {"1"}
    assert all(len(r["model_sha256"]) == 64 for r in results)
    assert results[0]["prediction"] == {
        "sum": [11.0, 22.0, 33.0, 44.0],
        "product": [10.0, 40.0, 90.0, 160.0],
    }
    assert [p["sum"] for p in results[1]["predictions"]] == [[11, 22, 33, 44]] * 2
    assert results[2]["id"] == "req-7"
    assert results[2]["outputs"] == [
        {"name": "product", "datatype": "FP32", "shape": [1, 4], "data": [10, 40, 90, 160]}
    ]
    errors = {r["line"]: r["error"] for r in results if "error" in r}
    assert sorted(errors) == [4, 5, 6, 7, 8]
    assert "not valid JSON" in errors[4]
    assert errors[5] == "empty line"
    assert "size 3 on axis 1" in errors[6]
    assert "datatype INT64" in errors[7]
    assert "several inputs" in errors[8]
    assert results[8]["prediction"]["product"] == [100.0, 400.0, 900.0, 1600.0]
    summary = json.loads(objects.get("outputs/addmul/1/mixed.jsonl.summary.json"))
    assert (summary["records"], summary["ok"], summary["errors"]) == (9, 4, 5)
    assert [sample["line"] for sample in summary["error_samples"]] == [4, 5, 6, 7, 8]


def test_batched_results_equal_one_big_run(
    make_service: Any, objects: MemoryObjects, models_root: Path, tmp_path: Path
) -> None:
    rows = np.random.default_rng(1).normal(size=(700, 16)).astype(np.float32)
    source = objects.add("inputs/mlp/rows.jsonl", _jsonl(rows.tolist()))
    run_to_end(make_service(batch_size=64), source)
    got = np.array(
        [r["prediction"] for r in _lines(objects.get("outputs/mlp/rows.jsonl.result.jsonl"))]
    )
    from layerserve.domain.tensors import InferInput, InferRequest

    inference = build_inference_service(
        InferenceSettings(models_dir=models_root, scratch_dir=tmp_path / "x", preload="none")
    )
    resolution = inference.resolve("mlp", None)
    expected = inference.infer(
        resolution, InferRequest([InferInput("x", "FP32", rows.shape, rows)])
    )
    np.testing.assert_allclose(got, expected.outputs["scores"], rtol=1e-5, atol=1e-6)


def test_v2_lines_group_by_shape_and_keep_their_rows(
    make_service: Any, objects: MemoryObjects
) -> None:
    lines = []
    for count in (1, 2, 3, 1, 2):
        data = list(range(count * 3))
        lines.append(_v2("x", "FP32", [count, 3], data, id=f"r{count}"))
    lines.append(_v2("x", "FP32", [2, 2], [1, 2, 3, 4]))
    source = objects.add("inputs/id-fp32/v2.jsonl", _jsonl(lines))
    run_to_end(make_service(batch_size=8), source)
    results = _lines(objects.get("outputs/id-fp32/v2.jsonl.result.jsonl"))
    for result, count in zip(results, (1, 2, 3, 1, 2), strict=False):
        (output,) = result["outputs"]
        assert output["shape"] == [count, 3]
        assert output["data"] == list(range(count * 3))
        assert result["id"] == f"r{count}"
    assert "size 2 on axis 1" in results[-1]["error"]


def test_csv_with_header_and_bad_rows(make_service: Any, objects: MemoryObjects) -> None:
    header = ",".join(f"f{i}" for i in range(16))
    good = ",".join(["0.5"] * 16)
    body = "\n".join([header, good, ",".join(["1"] * 15), "a," + good[4:], "", good]).encode()
    source = objects.add("inputs/mlp/table.csv", body + b"\r\n")
    (outcome,) = run_to_end(make_service(batch_size=3), source)
    assert outcome.status == "succeeded"
    results = _lines(objects.get("outputs/mlp/table.csv.result.jsonl"))
    assert [r["line"] for r in results] == [2, 3, 4, 5, 6]
    assert results[0]["prediction"] == results[4]["prediction"]
    assert "15 columns, expected 16" in results[1]["error"]
    assert "not a numeric CSV row" in results[2]["error"]
    assert results[3]["error"] == "empty line"


def _saved(save: Any, arrays: dict[str, np.ndarray[Any, Any]]) -> bytes:
    buffer = io.BytesIO()
    save(buffer, **arrays)
    return buffer.getvalue()


def _npz(**arrays: np.ndarray[Any, Any]) -> bytes:
    return _saved(np.savez, arrays)


def _npz_compressed(**arrays: np.ndarray[Any, Any]) -> bytes:
    return _saved(np.savez_compressed, arrays)


def _npy(array: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize("pack", [_npz, _npz_compressed])
def test_npz_in_npz_out_for_every_output(
    make_service: Any, objects: MemoryObjects, pack: Any
) -> None:
    a = np.arange(40, dtype=np.float64).reshape(10, 4)  # float64 converts to FP32
    b = np.full((10, 4), 2.0, dtype=">f4")  # big-endian too
    source = objects.add("inputs/addmul/pair.npz", pack(a=a, b=b))
    (outcome,) = run_to_end(make_service(batch_size=3), source)
    assert outcome.status == "succeeded", outcome
    result = np.load(io.BytesIO(objects.get("outputs/addmul/pair.npz.result.npz")))
    np.testing.assert_array_equal(result["sum"], (a + 2).astype(np.float32))
    np.testing.assert_array_equal(result["product"], (a * 2).astype(np.float32))
    meta = json.loads(result["_layerserve.json"])
    assert (meta["model_name"], meta["model_version"], meta["rows"]) == ("addmul", "2", 10)


def test_npy_for_a_single_input_model(make_service: Any, objects: MemoryObjects) -> None:
    x = np.random.default_rng(2).normal(size=(33, 16)).astype(np.float32)
    source = objects.add("inputs/mlp/1/x.npy", _npy(x))
    run_to_end(make_service(batch_size=8), source)
    result = np.load(io.BytesIO(objects.get("outputs/mlp/1/x.npy.result.npz")))
    assert result["scores"].shape == (33, 4)


@pytest.mark.parametrize(
    ("key", "body", "message"),
    [
        ("inputs/nosuch/x.jsonl", b"[1]\n", "model 'nosuch' not found"),
        ("inputs/mlp/9/x.jsonl", b"[1]\n", "version '9' of model 'mlp' not found"),
        ("inputs/mlp/x.parquet", b"PAR1", "unsupported input format"),
        ("inputs/addmul/x.npy", _npy(np.zeros((2, 4))), "several inputs"),
        ("inputs/addmul/x.npz", _npz(a=np.zeros((2, 4))), "missing array(s) for model input(s): b"),
        ("inputs/addmul/y.npz", _npz(a=np.zeros((2, 4)), b=np.zeros((3, 4))), "disagree"),
        ("inputs/mlp/x.npy", _npy(np.zeros((2, 15))), "size 15 on axis 1"),
        ("inputs/mlp/y.npy", _npy(np.zeros((2, 16), dtype=np.complex64)), "does not convert"),
        ("inputs/mlp/z.npy", _npy(np.asfortranarray(np.zeros((3, 16)))), "Fortran"),
        ("inputs/mlp/w.npy", b"\x93NUMPY garbage", "not a readable .npy"),
        ("inputs/mlp/v.npz", b"not a zip at all", "not a readable ZIP"),
        ("inputs/addmul/t.csv", b"1,2\n", "single-input model"),
    ],
)
def test_file_level_problems_give_an_error_object(
    make_service: Any, objects: MemoryObjects, key: str, body: bytes, message: str
) -> None:
    source = objects.add(key, body)
    (outcome,) = run_to_end(make_service(), source)
    assert outcome.status == "failed"
    error = json.loads(objects.get(key.replace("inputs/", "outputs/", 1) + ".error.json"))
    assert message in error["error"]
    assert error["source"]["key"] == key
    assert not objects.uploads


def test_truncated_npy_fails_cleanly_after_parts_were_written(
    make_service: Any, objects: MemoryObjects
) -> None:
    raw = _npy(np.zeros((5000, 16), dtype=np.float32))
    source = objects.add("inputs/mlp/cut.npy", raw[: len(raw) // 2])
    (outcome,) = run_to_end(make_service(batch_size=100, part_bytes=4096), source)
    assert outcome.status == "failed"
    assert "truncated" in outcome.detail
    assert not objects.uploads  # the started multipart upload was aborted


def test_overlong_lines_become_errors(make_service: Any, objects: MemoryObjects) -> None:
    body = _jsonl([[0.0] * 16, [1.0] * 16 + [0.0] * 5000, [2.0] * 16])
    source = objects.add("inputs/mlp/long.jsonl", body)
    run_to_end(make_service(max_line_bytes=2048), source)
    results = _lines(objects.get("outputs/mlp/long.jsonl.result.jsonl"))
    assert results[1] == {**results[1], "error": "line is longer than 2048 bytes"}
    assert "prediction" in results[0]
    assert "prediction" in results[2]


def _continued(
    make_service: Any, objects: MemoryObjects, key: str, body: bytes, **opts: Any
) -> Any:
    """The result of one straight run and of a run that continues at every checkpoint."""
    source = objects.add(key, body)
    straight = run_to_end(make_service(**opts), source)
    result_key = straight[-1].output
    assert result_key is not None
    expected = objects.get(result_key)
    pieces = run_to_end(make_service(part_bytes=4096, reserve_s=1e9, **opts), source)
    return straight, pieces, expected, objects.get(result_key)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "npz"])
def test_continuing_at_every_part_gives_the_same_bytes(
    make_service: Any, objects: MemoryObjects, fmt: str
) -> None:
    rows = np.random.default_rng(3).normal(size=(3000, 4)).astype(np.float32)
    key, body = {
        "jsonl": ("inputs/id-fp32/c.jsonl", _jsonl(rows[:, :3].tolist())),
        "csv": ("inputs/id-fp32/c.csv", b"\n".join(b"%f,%f,%f" % tuple(r) for r in rows[:, :3])),
        "npz": ("inputs/addmul/c.npz", _npz(a=rows, b=rows)),
    }[fmt]
    straight, pieces, expected, got = _continued(make_service, objects, key, body, batch_size=50)
    assert len(straight) == 1
    assert len(pieces) > 4
    assert [o.status for o in pieces] == ["continued"] * (len(pieces) - 1) + ["succeeded"]
    assert got == expected
    summary_key = straight[-1].output.rsplit(".result.", 1)[0] + ".summary.json"
    summary = json.loads(objects.get(summary_key))
    assert summary["invocations"] == len(pieces)
    assert summary["records"] == 3000
    assert summary["parts"] > 1


def test_a_failure_mid_file_then_a_retry_gives_one_correct_result(
    make_service: Any, objects: MemoryObjects
) -> None:
    body = _jsonl(np.arange(4000 * 3).reshape(4000, 3).tolist())
    source = objects.add("inputs/id-fp32/crash.jsonl", body)
    service = make_service(batch_size=40, part_bytes=4096)
    planned = service.plan(source)
    assert planned is not None
    objects.fail_part = 3
    with pytest.raises(ServiceUnavailableError):
        service.run(planned, FixedClock(), QueueContinuer())
    assert not objects.uploads  # the fresh upload was aborted
    assert objects.writes["outputs/id-fp32/crash.jsonl.result.jsonl"] == 0
    outcome = service.run(planned, FixedClock(), QueueContinuer())  # Lambda's retry
    assert outcome.status == "succeeded"
    results = _lines(objects.get("outputs/id-fp32/crash.jsonl.result.jsonl"))
    assert [r["line"] for r in results] == list(range(1, 4001))
    assert results[-1]["prediction"] == [11997.0, 11998.0, 11999.0]
    assert objects.writes["outputs/id-fp32/crash.jsonl.result.jsonl"] == 1


def test_a_failed_continuation_keeps_its_upload_for_the_retry(
    make_service: Any, objects: MemoryObjects
) -> None:
    body = _jsonl(np.arange(3000 * 3).reshape(3000, 3).tolist())
    source = objects.add("inputs/id-fp32/resume.jsonl", body)
    service = make_service(batch_size=40, part_bytes=4096, reserve_s=1e9)
    planned = service.plan(source)
    assert planned is not None
    continuer = QueueContinuer()
    assert service.run(planned, FixedClock(), continuer).status == "continued"
    second = Continuation.model_validate(continuer.payloads.pop())
    objects.fail_part = second.progress.parts + 1
    with pytest.raises(ServiceUnavailableError):
        service.run(second, FixedClock(), continuer)
    assert list(objects.uploads) == [second.progress.upload_id]  # kept for the retry
    run_to_end_from(service, second, continuer)
    results = _lines(objects.get("outputs/id-fp32/resume.jsonl.result.jsonl"))
    assert [r["line"] for r in results] == list(range(1, 3001))
    assert not objects.uploads


def run_to_end_from(service: BatchService, first: Continuation, continuer: QueueContinuer) -> None:
    outcome = service.run(first, FixedClock(), continuer)
    while continuer.payloads:
        outcome = service.run(
            Continuation.model_validate(continuer.payloads.pop(0)), FixedClock(), continuer
        )
    assert outcome.status == "succeeded"
