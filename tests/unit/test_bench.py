"""The benchmark helpers: statistics, the runner's selection and the encoder builder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from bench import __main__ as runner
from bench.harness import Stats
from bench.models import (
    EncoderDims,
    bert_encoder,
    minilm_encoder,
    token_inputs,
    with_token_types,
)

SMALL = EncoderDims(vocab=50, hidden=8, layers=2, heads=2, intermediate=16, positions=16)


def test_stats_median_and_p90_in_microseconds() -> None:
    stats = Stats.of([i * 1000 for i in range(1, 101)], [500] * 100)
    assert stats.median_us == pytest.approx(50.5)
    assert stats.p90_us == pytest.approx(91.0)
    assert stats.cpu_median_us == pytest.approx(0.5)
    assert stats.count == 100


def test_runner_selects_named_benches_and_refuses_unknown_ones() -> None:
    benches = runner.available()
    assert list(benches)[:4] == ["overhead", "cold", "metrics", "aggregation"]
    assert not runner.HELPERS & set(benches)
    assert runner.parse([], benches) == list(benches)
    assert runner.parse(["cold", "overhead"], benches) == ["cold", "overhead"]
    with pytest.raises(SystemExit):
        runner.parse(["nope"], benches)


def test_runner_skips_a_missing_module_and_reports_broken_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert runner.run("ghost", "bench.no_such_module") is True
    assert "skipped: bench.no_such_module does not exist" in capsys.readouterr().out
    assert runner.run("helper", "bench.harness") is True
    assert "skipped: bench.harness has no main()" in capsys.readouterr().out
    (tmp_path / "bench_fails_on_import.py").write_text("raise RuntimeError('boom')\n")
    (tmp_path / "bench_fails_in_main.py").write_text("def main():\n    raise ValueError('bad')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert runner.run("import", "bench_fails_on_import") is False
    assert runner.run("main", "bench_fails_in_main") is False
    out = capsys.readouterr().out
    assert "[import] FAILED" in out
    assert "[main] FAILED" in out


def test_encoder_is_valid_and_pools_the_unmasked_tokens() -> None:
    model = minilm_encoder(SMALL, seed=3)
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = token_inputs(batch=2, sequence=6, vocab=SMALL.vocab)
    hidden, pooled = session.run(["last_hidden_state", "sentence_embedding"], feeds)
    assert hidden.shape == (2, 6, SMALL.hidden)
    mask = feeds["attention_mask"].astype(np.float32)[:, :, None]
    expected = (hidden * mask).sum(axis=1) / mask.sum(axis=1)
    np.testing.assert_allclose(pooled, expected, rtol=1e-5, atol=1e-6)
    assert mask[1].sum() < 6  # the second row really has padding


def _weights(dims: EncoderDims) -> int:
    """Float parameters of a BERT encoder: embeddings, layers, layer norms."""
    h, i = dims.hidden, dims.intermediate
    embeddings = (dims.vocab + dims.positions + 1) * h + 2 * h
    layer = 4 * (h * h + h) + (h * i + i) + (i * h + h) + 2 * 2 * h
    return embeddings + dims.layers * layer


def test_encoder_has_bert_weights_and_is_deterministic() -> None:
    model = minilm_encoder(SMALL, seed=1)
    weights = [
        int(np.prod(tensor.dims))
        for tensor in model.graph.initializer
        if tensor.data_type == onnx.TensorProto.FLOAT and len(tensor.dims) > 0
    ]
    assert sum(weights) == _weights(SMALL)
    assert 22_500_000 < _weights(EncoderDims()) < 23_000_000  # MiniLM-L6: ~22.7 M
    serialized = model.SerializeToString()
    assert serialized == minilm_encoder(SMALL, seed=1).SerializeToString()
    assert serialized != minilm_encoder(SMALL, seed=2).SerializeToString()


def test_the_real_shaped_encoder_takes_token_types_and_they_matter() -> None:
    model = bert_encoder(SMALL, seed=3)
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["input_ids", "attention_mask", "token_type_ids"]
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = with_token_types(token_inputs(batch=2, sequence=6, vocab=SMALL.vocab))
    assert feeds["token_type_ids"].tolist()[0] == [0, 0, 0, 1, 1, 1]
    (typed,) = session.run(["sentence_embedding"], feeds)
    zeros = {**feeds, "token_type_ids": np.zeros_like(feeds["input_ids"])}
    (untyped,) = session.run(["sentence_embedding"], zeros)
    assert not np.allclose(typed, untyped)
