"""Pure parts of packaging: samples, agreement gate, baseline, budget, request checks."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerserve.domain.errors import InvalidInputError
from layerserve.domain.manifest import Signature, TensorSpec
from layerserve.services.packaging import (
    LambdaBudget,
    PackageRequest,
    QuantizationRejectedError,
    read_npz,
)
from layerserve.services.packaging.agreement import OutputAgreement, compare, gate
from layerserve.services.packaging.baseline import baselines
from layerserve.services.packaging.budget import LAMBDA_UNZIPPED_LIMIT, MB, BudgetReport, mb
from layerserve.services.packaging.samples import INT_HIGH, check_samples, generate_samples

SIGNATURE = Signature(
    inputs=(
        TensorSpec(name="x", datatype="FP32", shape=("batch", 4)),
        TensorSpec(name="ids", datatype="INT64", shape=(None, "seq")),
        TensorSpec(name="mask", datatype="BOOL", shape=("batch", "seq")),
        TensorSpec(name="text", datatype="BYTES", shape=(2,)),
    ),
    outputs=(
        TensorSpec(name="score", datatype="FP32", shape=("batch",)),
        TensorSpec(name="label", datatype="BYTES", shape=("batch",)),
    ),
)


def test_generated_samples_are_deterministic_and_fit_the_signature() -> None:
    samples = generate_samples(SIGNATURE)
    assert {name: array.shape for name, array in samples.items()} == {
        "x": (8, 4),
        "ids": (8, 1),
        "mask": (8, 1),
        "text": (2,),
    }
    assert samples["x"].dtype == np.float32 and samples["mask"].dtype == np.bool_
    assert samples["ids"].dtype == np.int64
    assert samples["ids"].min() >= 0 and samples["ids"].max() < INT_HIGH
    assert samples["text"].dtype == object and all(isinstance(v, str) for v in samples["text"])
    again = generate_samples(SIGNATURE)
    for name, array in samples.items():
        np.testing.assert_array_equal(array, again[name])


def test_supplied_samples_are_checked_and_cast() -> None:
    supplied: dict[str, np.ndarray[Any, Any]] = {
        "x": np.ones((3, 4)),
        "ids": np.zeros((3, 5), np.int32),
        "mask": np.ones((3, 5), bool),
        "text": np.array(["a", "b"]),
    }
    checked = check_samples(SIGNATURE, supplied)
    assert checked["x"].dtype == np.float32 and checked["ids"].dtype == np.int64
    assert checked["text"].dtype == object


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"x": np.ones((3, 5), np.float32)}, "sample 'x' has shape [3, 5], the model expects"),
        ({"x": np.ones(4, np.float32)}, "sample 'x' has shape [4]"),
        ({"ids": np.ones((3, 5), np.float32)}, "sample 'ids' is float32, the model expects INT64"),
        ({"text": np.ones(2)}, "sample 'text' is float64, the model expects strings"),
        ({"extra": np.ones(1)}, "sample 'extra' is not a model input (inputs: x, ids, mask, text)"),
    ],
)
def test_unsuitable_samples_are_refused(change: dict[str, np.ndarray], message: str) -> None:
    supplied: dict[str, np.ndarray[Any, Any]] = {
        "x": np.ones((3, 4), np.float32),
        "ids": np.zeros((3, 5), np.int64),
        "mask": np.ones((3, 5), bool),
        "text": np.array(["a", "b"]),
    }
    with pytest.raises(InvalidInputError) as caught:
        check_samples(SIGNATURE, {**supplied, **change})
    assert message in caught.value.message


def test_missing_sample_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="samples lack the model input 'ids'"):
        check_samples(SIGNATURE, {"x": np.ones((1, 4), np.float32)})


def test_npz_files_are_read_and_other_files_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "s.npz", x=np.ones((2, 4), np.float32))
    assert read_npz(tmp_path / "s.npz")["x"].shape == (2, 4)
    np.save(tmp_path / "plain.npy", np.ones(3))
    with pytest.raises(InvalidInputError, match=r"not an \.npz archive"):
        read_npz(tmp_path / "plain.npy")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(InvalidInputError, match="cannot read samples"):
        read_npz(tmp_path / "junk.npz")
    with pytest.raises(InvalidInputError, match="cannot read samples"):
        read_npz(tmp_path / "missing.npz")


def outputs(score: list[float]) -> dict[str, np.ndarray]:
    return {"score": np.array(score, np.float32), "label": np.array(["a"] * len(score), object)}


def test_agreement_measures_cosine_and_max_abs_error_per_numeric_output() -> None:
    (same,) = compare(SIGNATURE, outputs([1, 2, 3]), outputs([1, 2, 3]))
    assert same == OutputAgreement("score", cosine=1.0, max_abs_error=0.0)
    (scaled,) = compare(SIGNATURE, outputs([1, 2, 3]), outputs([2, 4, 6]))
    assert scaled.cosine == pytest.approx(1.0) and scaled.max_abs_error == 3.0
    (opposite,) = compare(SIGNATURE, outputs([1, 0]), outputs([0, 1]))
    assert opposite.cosine == 0.0
    (zeros,) = compare(SIGNATURE, outputs([0, 0]), outputs([0, 0]))
    assert zeros.cosine == 1.0
    (nan,) = compare(SIGNATURE, outputs([1, math.nan]), outputs([1, 2]))
    assert (nan.cosine, nan.max_abs_error) == (0.0, math.inf)
    (both_nan,) = compare(SIGNATURE, outputs([1, math.nan]), outputs([1, math.nan]))
    assert both_nan == OutputAgreement("score", cosine=1.0, max_abs_error=0.0)


def test_gate_reports_figures_or_refuses_with_each_failure() -> None:
    figures = (OutputAgreement("a", 0.999, 0.05), OutputAgreement("b", 0.995, 0.2))
    report = gate(figures, samples=8, min_cosine=0.99, max_abs_error=None)
    assert (report.min_cosine_similarity, report.max_abs_error, report.samples) == (0.995, 0.2, 8)
    with pytest.raises(QuantizationRejectedError) as caught:
        gate(figures, samples=8, min_cosine=0.998, max_abs_error=0.1)
    assert caught.value.figures == figures
    assert caught.value.message == (
        "int8 model disagrees with the original on 8 samples: 'b' cosine 0.995000 < 0.998; "
        "'b' max abs error 0.2 > 0.1"
    )


def test_baseline_skips_text_and_non_finite_values() -> None:
    (score,) = baselines(SIGNATURE, outputs([1, 2, math.inf, 3]))
    assert (score.min, score.max, score.mean) == (1.0, 3.0, 2.0)
    assert baselines(SIGNATURE, outputs([math.nan])) == ()


def test_budget_verdicts_and_sizes() -> None:
    budget = LambdaBudget.from_mb(runtime_layer_mb=130, function_code_mb=1)
    assert budget.available_bytes == LAMBDA_UNZIPPED_LIMIT - 131 * MB
    left = budget.available_bytes
    assert BudgetReport(int(left * 0.8), budget).verdict == "fits"
    assert BudgetReport(int(left * 0.8) + 1, budget).verdict == "tight"
    assert BudgetReport(left, budget).verdict == "tight"
    assert BudgetReport(left + 1, budget).verdict == "too_big"
    assert BudgetReport(1, LambdaBudget.from_mb(250, 0)).verdict == "too_big"
    assert (mb(512), mb(2048), mb(3 * MB)) == ("512 B", "2.0 KiB", "3.0 MiB")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "../etc"}, "invalid model name '../etc'"),
        ({"version": "v/1"}, "invalid version 'v/1'"),
        ({"version": ""}, "invalid version ''"),
        ({"zstd_level": 23}, "zstd level must be 1 to 22"),
        ({"min_cosine": 1.5}, "minimum cosine must lie in [-1, 1]"),
        ({"max_abs_error": -1.0}, "maximum abs error must be >= 0"),
    ],
)
def test_requests_are_checked_before_any_work(options: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"name": "m", "version": "1", **options}
    with pytest.raises(InvalidInputError) as caught:
        PackageRequest(**arguments)  # type: ignore[arg-type]
    assert message in caught.value.message
