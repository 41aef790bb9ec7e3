"""Generated samples respect what the graph says its inputs accept."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from layerserve.adapters.onnx_graph import OnnxToolkit
from layerserve.adapters.onnx_graph.hints import input_hints
from layerserve.services.packaging import ModelFacts, generate_samples
from tests import zoo
from tests.onnx_builders import _finish


def facts(model: onnx.ModelProto) -> ModelFacts:
    toolkit = OnnxToolkit()
    portable, _ = toolkit.portable(model.SerializeToString())
    return toolkit.load(portable).facts


def test_bert_inputs_get_their_tables_range_a_mask_and_two_token_types() -> None:
    found = facts(zoo.bert().model)
    hints = found.hints
    assert (hints["input_ids"].low, hints["input_ids"].high) == (0, zoo.SMALL_BERT.vocab)
    assert hints["token_type_ids"].high == 2
    assert any("table of 2 rows" in why for why in hints["token_type_ids"].because)
    assert hints["attention_mask"].mask
    samples = generate_samples(found.signature, hints)
    assert samples["token_type_ids"].max() == 1 and samples["token_type_ids"].min() == 0
    assert samples["input_ids"].max() < zoo.SMALL_BERT.vocab
    assert samples["input_ids"].shape == (16, 16)  # batch rows, a sequence of 16
    mask = samples["attention_mask"]
    assert set(np.unique(mask)) == {0, 1} and mask[0].all() and not mask[1].all()


def test_string_inputs_take_the_encoders_categories() -> None:
    found = facts(zoo.column_transformer().model)
    assert found.hints["city"].categories == {None: ("lyon", "nice", "paris")}
    samples = generate_samples(found.signature, found.hints)
    assert set(samples["city"].ravel()) <= {"lyon", "nice", "paris"}
    assert set(samples["plan"].ravel()) <= {"free", "pro"}


def test_text_inputs_are_sentences_of_the_vocabulary() -> None:
    found = facts(zoo.tfidf().model)
    vocabulary = set(found.hints["text"].words)
    assert {"quick", "refund"} <= vocabulary
    sentence = generate_samples(found.signature, found.hints)["text"].ravel()[0]
    assert set(sentence.split()) <= vocabulary


def columns_model() -> onnx.ModelProto:
    """One string input of two columns, each column one-hot encoded on its own."""
    x = helper.make_tensor_value_info("x", TensorProto.STRING, ["n", 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 1, None])
    inits = [
        numpy_helper.from_array(np.array([0], np.int64), "c0"),
        numpy_helper.from_array(np.array([1], np.int64), "c1"),
    ]
    nodes = [
        helper.make_node("ArrayFeatureExtractor", ["x", "c0"], ["x0"], domain="ai.onnx.ml"),
        helper.make_node("ArrayFeatureExtractor", ["x", "c1"], ["x1"], domain="ai.onnx.ml"),
        helper.make_node(
            "OneHotEncoder", ["x0"], ["h0"], domain="ai.onnx.ml", cats_strings=["a", "b"], zeros=0
        ),
        helper.make_node(
            "OneHotEncoder", ["x1"], ["h1"], domain="ai.onnx.ml", cats_strings=["u", "v"], zeros=0
        ),
        helper.make_node("Concat", ["h0", "h1"], ["y"], axis=-1),
    ]
    graph = helper.make_graph(nodes, "columns", [x], [y], initializer=inits)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)]
    )
    model.ir_version = 8
    return model


def test_each_column_of_one_input_gets_its_own_categories() -> None:
    model = columns_model()
    hints = input_hints(model.graph, ["x"])
    assert hints["x"].categories == {0: ("a", "b"), 1: ("u", "v")}
    found = facts(model)
    samples = generate_samples(found.signature, found.hints)["x"]
    assert set(samples[:, 0]) <= {"a", "b"} and set(samples[:, 1]) <= {"u", "v"}


@pytest.mark.parametrize(("name", "high"), [("segment_ids", 2), ("token_type_ids", 2)])
def test_names_alone_narrow_token_types(name: str, high: int) -> None:
    x = helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
    y = helper.make_tensor_value_info("y", TensorProto.INT64, ["batch", "sequence"])
    model = _finish(helper.make_graph([helper.make_node("Identity", [name], ["y"])], "g", [x], [y]))
    assert input_hints(model.graph, [name])[name].high == high


def test_a_string_normalizer_without_locale_gets_the_portable_one() -> None:
    toolkit = OnnxToolkit()
    portable, notes = toolkit.portable(zoo.tfidf().model.SerializeToString())
    assert len(notes) == 1 and "now uses C.UTF-8" in notes[0]
    assert toolkit.portable(portable) == (portable, ())  # already portable: unchanged
