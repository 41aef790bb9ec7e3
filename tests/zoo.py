"""Real-shaped models of every family a user packages, built at test time (nothing stored).

Each builder returns the ONNX model and inputs a client would send; the exporters are
the ones users run (onnx.helper graphs shaped like torch exports, skl2onnx, onnxmltools).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from bench.models import EncoderDims, bert_encoder
from onnx import TensorProto, helper, numpy_helper

Arrays = dict[str, np.ndarray[Any, Any]]
SMALL_BERT = EncoderDims(vocab=120, hidden=32, layers=2, heads=4, intermediate=64, positions=64)
OPSET = 17


@dataclass(frozen=True)
class ZooModel:
    name: str
    model: onnx.ModelProto
    request: Arrays
    """What a client sends: valid inputs, not the packager's samples."""


def bert() -> ZooModel:
    rng = np.random.default_rng(1)
    ids = rng.integers(0, SMALL_BERT.vocab, (3, 10), dtype=np.int64)
    mask = np.ones((3, 10), np.int64)
    mask[2, 6:] = 0
    types = np.zeros((3, 10), np.int64)
    types[:, 5:] = 1
    request = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return ZooModel("bert", bert_encoder(SMALL_BERT, seed=2), request)


def _mixed_rows(rows: int, seed: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    table = np.empty((rows, 4), object)
    table[:, 0] = rng.choice(["paris", "lyon", "nice"], rows)
    table[:, 1] = rng.choice(["free", "pro"], rows)
    table[:, 2] = rng.normal(40, 10, rows)
    table[:, 3] = rng.normal(3, 1, rows)
    labels = np.where((table[:, 2] > 40) ^ (table[:, 1] == "pro"), "keep", "churn")
    return table, labels


def column_transformer() -> ZooModel:
    """One-hot strings (unknown categories refused) and scaled floats; a string label."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    table, labels = _mixed_rows(120, seed=0)
    prep = ColumnTransformer(
        [
            ("categories", OneHotEncoder(handle_unknown="error"), [0, 1]),
            ("numbers", StandardScaler(), [2, 3]),
        ]
    )
    classifier = MLPClassifier((16,), max_iter=200, random_state=0)
    with warnings.catch_warnings():  # a few iterations are enough for a test model
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline = Pipeline([("prep", prep), ("classify", classifier)]).fit(table, labels)
    types = [
        ("city", StringTensorType([None, 1])),
        ("plan", StringTensorType([None, 1])),
        ("age", FloatTensorType([None, 1])),
        ("income", FloatTensorType([None, 1])),
    ]
    options = {id(classifier): {"zipmap": False}}
    model = convert_sklearn(pipeline, initial_types=types, options=options, target_opset=OPSET)
    rows, _ = _mixed_rows(5, seed=9)
    request = {
        "city": rows[:, :1].astype(str).astype(object),
        "plan": rows[:, 1:2].astype(str).astype(object),
        "age": rows[:, 2:3].astype(np.float32),
        "income": rows[:, 3:4].astype(np.float32),
    }
    return ZooModel("columns", model, request)


TEXTS = [
    "the service was quick and friendly",
    "terrible support and a slow refund",
    "friendly staff quick answers",
    "slow terrible and rude",
    "great value quick delivery",
    "refund refused rude answers",
] * 5


def tfidf() -> ZooModel:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import StringTensorType
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    labels = np.array(["good", "bad"] * (len(TEXTS) // 2))
    classifier = LogisticRegression(max_iter=200)
    pipeline = Pipeline([("tfidf", TfidfVectorizer()), ("classify", classifier)])
    pipeline.fit(TEXTS, labels)
    types = [("text", StringTensorType([None, 1]))]
    options = {id(classifier): {"zipmap": False}}
    model = convert_sklearn(pipeline, initial_types=types, options=options, target_opset=OPSET)
    request = {"text": np.array([["quick friendly answers"], ["rude slow refund"]], object)}
    return ZooModel("tfidf", model, request)


def _tabular(rows: int, seed: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 6)).astype(np.float32)
    return features, (features[:, 0] + features[:, 1] ** 2 > 0.5).astype(np.int64)


def lightgbm() -> ZooModel:
    import lightgbm as lgb
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    features, labels = _tabular(200, seed=0)
    booster = lgb.LGBMClassifier(n_estimators=20, num_leaves=8, verbose=-1).fit(features, labels)
    types = [("features", FloatTensorType([None, 6]))]
    model = convert_lightgbm(booster, initial_types=types, zipmap=False, target_opset=15)
    return ZooModel("lightgbm", model, {"features": _tabular(4, seed=5)[0]})


def xgboost() -> ZooModel:
    import xgboost as xgb
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    features, labels = _tabular(200, seed=1)
    booster = xgb.XGBClassifier(n_estimators=20, max_depth=3).fit(features, labels)
    types = [("features", FloatTensorType([None, 6]))]
    model = convert_xgboost(booster, initial_types=types, target_opset=15)
    return ZooModel("xgboost", model, {"features": _tabular(4, seed=6)[0]})


def _finish(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="layerserve-zoo"
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def gru(
    dtype: type[np.floating[Any]] = np.float32, features: int = 8, hidden: int = 16
) -> ZooModel:
    """A batch-first GRU as torch exports it: dynamic batch and sequence, two outputs
    (every step's hidden state and the last one)."""
    rng = np.random.default_rng(3)
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    weights = {
        "W": rng.normal(0, 0.3, (1, 3 * hidden, features)),
        "R": rng.normal(0, 0.3, (1, 3 * hidden, hidden)),
        "B": rng.normal(0, 0.1, (1, 6 * hidden)),
    }
    inits = [numpy_helper.from_array(v.astype(dtype), k) for k, v in weights.items()]
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "axis1"))
    inits.append(numpy_helper.from_array(np.array([0], np.int64), "axis0"))
    nodes = [
        helper.make_node("Transpose", ["x"], ["x_t"], name="/gru/Transpose", perm=[1, 0, 2]),
        helper.make_node(
            "GRU",
            ["x_t", "W", "R", "B"],
            ["y", "y_h"],
            name="/gru/GRU",
            hidden_size=hidden,
            linear_before_reset=1,
        ),
        helper.make_node("Squeeze", ["y", "axis1"], ["y_s"], name="/gru/Squeeze"),
        helper.make_node("Transpose", ["y_s"], ["steps"], name="/gru/Transpose_1", perm=[1, 0, 2]),
        helper.make_node("Squeeze", ["y_h", "axis0"], ["last"], name="/gru/Squeeze_1"),
    ]
    x = helper.make_tensor_value_info("x", elem, ["batch", "sequence", features])
    outputs = [
        helper.make_tensor_value_info("steps", elem, ["batch", "sequence", hidden]),
        helper.make_tensor_value_info("last", elem, ["batch", hidden]),
    ]
    graph = helper.make_graph(nodes, "gru", [x], outputs, initializer=inits)
    request = {"x": rng.normal(size=(2, 7, features)).astype(dtype)}
    suffix = "" if dtype == np.float32 else "-fp16"
    return ZooModel("gru" + suffix, _finish(graph), request)


def mlp_fp16(features: int = 16, hidden: int = 32, outputs: int = 4) -> ZooModel:
    rng = np.random.default_rng(4)
    values = {
        "w1": rng.normal(0, 0.2, (features, hidden)),
        "b1": rng.normal(0, 0.1, (hidden,)),
        "w2": rng.normal(0, 0.2, (hidden, outputs)),
        "b2": rng.normal(0, 0.1, (outputs,)),
    }
    inits = [numpy_helper.from_array(v.astype(np.float16), k) for k, v in values.items()]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"], name="/fc1/MatMul"),
        helper.make_node("Add", ["h0", "b1"], ["h1"], name="/fc1/Add"),
        helper.make_node("Relu", ["h1"], ["h2"], name="/relu/Relu"),
        helper.make_node("MatMul", ["h2", "w2"], ["o0"], name="/fc2/MatMul"),
        helper.make_node("Add", ["o0", "b2"], ["scores"], name="/fc2/Add"),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT16, ["batch", features])
    y = helper.make_tensor_value_info("scores", TensorProto.FLOAT16, ["batch", outputs])
    graph = helper.make_graph(nodes, "mlp_fp16", [x], [y], initializer=inits)
    request = {"x": rng.normal(size=(3, features)).astype(np.float16)}
    return ZooModel("mlp-fp16", _finish(graph), request)


def gru_fp16() -> ZooModel:
    return gru(np.float16)


ALL = (bert, column_transformer, tfidf, lightgbm, xgboost, gru, mlp_fp16, gru_fp16)
