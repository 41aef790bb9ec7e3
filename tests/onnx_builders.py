"""Tiny ONNX models built in-process for tests (no files committed, nothing downloaded)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
Dims = Sequence[int | str | None]

ELEM = {
    "BOOL": TensorProto.BOOL,
    "INT8": TensorProto.INT8,
    "INT16": TensorProto.INT16,
    "INT32": TensorProto.INT32,
    "INT64": TensorProto.INT64,
    "UINT8": TensorProto.UINT8,
    "UINT16": TensorProto.UINT16,
    "UINT32": TensorProto.UINT32,
    "UINT64": TensorProto.UINT64,
    "FP16": TensorProto.FLOAT16,
    "FP32": TensorProto.FLOAT,
    "FP64": TensorProto.DOUBLE,
    "BYTES": TensorProto.STRING,
}


def _finish(graph: onnx.GraphProto, opset: int = OPSET) -> onnx.ModelProto:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="layerserve-tests",
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def identity(datatype: str = "FP32", shape: Dims = ("batch", 4)) -> onnx.ModelProto:
    """``y = x`` for any datatype: the cheapest possible model."""
    x = helper.make_tensor_value_info("x", ELEM[datatype], list(shape))
    y = helper.make_tensor_value_info("y", ELEM[datatype], list(shape))
    return _finish(helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "id", [x], [y]))


def add_mul(features: int | None = 4) -> onnx.ModelProto:
    """Two FP32 inputs, two outputs: ``sum = a + b`` and ``product = a * b``
    (``features=None``: one number per row, tensors of rank 1)."""
    shape: list[int | str] = ["batch"] if features is None else ["batch", features]
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, shape)
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, shape)
    total = helper.make_tensor_value_info("sum", TensorProto.FLOAT, shape)
    product = helper.make_tensor_value_info("product", TensorProto.FLOAT, shape)
    nodes = [
        helper.make_node("Add", ["a", "b"], ["sum"]),
        helper.make_node("Mul", ["a", "b"], ["product"]),
    ]
    return _finish(helper.make_graph(nodes, "add_mul", [a, b], [total, product]))


def mlp(features: int = 16, hidden: int = 32, outputs: int = 4, seed: int = 0) -> onnx.ModelProto:
    """A two-layer perceptron with real weights: worth optimising and quantising."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 0.2, (features, hidden)).astype(np.float32)
    b1 = rng.normal(0, 0.1, (hidden,)).astype(np.float32)
    w2 = rng.normal(0, 0.2, (hidden, outputs)).astype(np.float32)
    b2 = rng.normal(0, 0.1, (outputs,)).astype(np.float32)
    inits = [
        numpy_helper.from_array(w1, "w1"),
        numpy_helper.from_array(b1, "b1"),
        numpy_helper.from_array(w2, "w2"),
        numpy_helper.from_array(b2, "b2"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h2"]),
        helper.make_node("MatMul", ["h2", "w2"], ["o0"]),
        helper.make_node("Add", ["o0", "b2"], ["scores"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", features])
    y = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", outputs])
    return _finish(helper.make_graph(nodes, "mlp", [x], [y], initializer=inits))


def classifier(features: int = 4, classes: int = 3) -> onnx.ModelProto:
    """A classifier as converters write one: ``label`` (INT64, one per row) and
    ``probabilities`` (FP32, one row of ``classes`` per row)."""
    weights = np.linspace(-1, 1, features * classes, dtype=np.float32).reshape(features, classes)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["scores"], ["label"], axis=1, keepdims=0),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", features])
    label = helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"])
    probabilities = helper.make_tensor_value_info(
        "probabilities", TensorProto.FLOAT, ["batch", classes]
    )
    graph = helper.make_graph(
        nodes, "classifier", [x], [label, probabilities], [numpy_helper.from_array(weights, "w")]
    )
    return _finish(graph)


def string_echo() -> onnx.ModelProto:
    """BYTES in, BYTES out: ``doubled = text + text`` (``StringConcat``, opset 20)."""
    x = helper.make_tensor_value_info("text", TensorProto.STRING, ["n"])
    y = helper.make_tensor_value_info("doubled", TensorProto.STRING, ["n"])
    node = helper.make_node("StringConcat", ["text", "text"], ["doubled"])
    return _finish(helper.make_graph([node], "echo", [x], [y]), opset=20)


def custom_op() -> onnx.ModelProto:
    """A node from a non-standard domain, as a custom-op library would add."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    node = helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example.custom")
    graph = helper.make_graph([node], "custom", [x], [y])
    model = helper.make_model(
        graph,
        opset_imports=[
            helper.make_opsetid("", OPSET),
            helper.make_opsetid("com.example.custom", 1),
        ],
    )
    model.ir_version = 8
    return model


def save(model: onnx.ModelProto, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path))
    return path


def save_with_external_data(model: onnx.ModelProto, path: Path) -> Path:
    """Save ``model`` with its initializers in a side file (refused by the packager)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=path.name + ".data",
        size_threshold=0,
    )
    return path


# --- packaging: models the packager must refuse, and one that is large -------------------
def _branch(name: str, node: onnx.NodeProto) -> onnx.GraphProto:
    out = helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, [1])
    return helper.make_graph([node], name, [], [out])


def _if_model(then_node: onnx.NodeProto, extra_domain: str | None = None) -> onnx.ModelProto:
    """``y = cond ? then_node() : [0.0]``: puts ``then_node`` inside a subgraph."""
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    zero = helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])
    else_node = helper.make_node("Constant", [], ["e"], value=zero)
    node = helper.make_node(
        "If",
        ["cond"],
        ["y"],
        then_branch=_branch("then", then_node),
        else_branch=_branch("else", else_node),
    )
    graph = helper.make_graph([node], "branchy", [cond], [y])
    opsets = [helper.make_opsetid("", OPSET)]
    if extra_domain is not None:
        opsets.append(helper.make_opsetid(extra_domain, 1))
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    return model


def custom_op_in_subgraph() -> onnx.ModelProto:
    """A custom-domain node hidden in the ``then`` branch of an ``If``."""
    node = helper.make_node("Frobnicate", [], ["t"], domain="com.example.custom")
    return _if_model(node, "com.example.custom")


def external_data_in_subgraph() -> onnx.ModelProto:
    """A ``Constant`` inside a subgraph whose tensor attribute points to a side file."""
    value = numpy_helper.from_array(np.ones(1, np.float32), "value")
    onnx.external_data_helper.set_external_data(value, location="weights.bin")
    value.ClearField("raw_data")
    return _if_model(helper.make_node("Constant", [], ["t"], value=value))


def _function_model(body: list[onnx.NodeProto], domain: str) -> onnx.ModelProto:
    """The main graph calls model-local function ``local.fns:Body`` whose body is ``body``."""
    function = helper.make_function(
        "local.fns", "Body", ["fx"], ["fy"], body, [helper.make_opsetid("", OPSET)]
    )
    if domain:
        function.opset_import.append(helper.make_opsetid(domain, 1))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"])
    call = helper.make_node("Body", ["x"], ["y"], domain="local.fns")
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("local.fns", 1)]
    graph = helper.make_graph([call], "calls_function", [x], [y])
    model = helper.make_model(graph, opset_imports=opsets, functions=[function])
    model.ir_version = 8
    return model


def local_function() -> onnx.ModelProto:
    """A valid model-local function (standard ops only): ``y = relu(x)``."""
    return _function_model([helper.make_node("Relu", ["fx"], ["fy"])], "")


def custom_op_in_function() -> onnx.ModelProto:
    """A model-local function whose body uses a custom-domain operator."""
    body = [helper.make_node("Frobnicate", ["fx"], ["fy"], domain="com.example.custom")]
    return _function_model(body, "com.example.custom")


def broken() -> onnx.ModelProto:
    """Unchecked: a node reads a tensor that nothing produces (the checker refuses it)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Add", ["x", "ghost"], ["y"])], "broken", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model


def unknown_contrib_op() -> onnx.ModelProto:
    """Passes the ONNX checker (com.microsoft is not its domain) but onnxruntime has no kernel."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    node = helper.make_node("NoSuchKernel", ["x"], ["y"], domain="com.microsoft")
    graph = helper.make_graph([node], "unloadable", [x], [y])
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    return model


def sequence_output() -> onnx.ModelProto:
    """An output that is a sequence of tensors, like an unconverted scikit-learn ZipMap."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    seq = helper.make_tensor_sequence_value_info("seq", TensorProto.FLOAT, [2])
    node = helper.make_node("SequenceConstruct", ["x"], ["seq"])
    return _finish(helper.make_graph([node], "seq", [x], [seq]))


def noisy(size: int = 32_768, seed: int = 0) -> onnx.ModelProto:
    """``y = x + w`` with ``size`` random FP32 weights: ~4*size bytes zstd cannot shrink."""
    w = np.random.default_rng(seed).standard_normal(size).astype(np.float32)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", size])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", size])
    node = helper.make_node("Add", ["x", "w"], ["y"])
    graph = helper.make_graph([node], "noisy", [x], [y], [numpy_helper.from_array(w, "w")])
    return _finish(graph)


def shifted(offset: float, features: int = 4) -> onnx.ModelProto:
    """``y = x + offset``: the same signature as ``identity()``, outputs moved by ``offset``."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", features])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", features])
    shift = numpy_helper.from_array(np.array([offset], dtype=np.float32), "offset")
    node = helper.make_node("Add", ["x", "offset"], ["y"])
    return _finish(helper.make_graph([node], "shifted", [x], [y], [shift]))


def fails_unless_batch_divides(rows: int = 3, features: int = 4) -> onnx.ModelProto:
    """``y = x`` when the batch is a multiple of ``rows``; any other batch fails at run time.

    Same signature as ``identity()``: the reshape to ``[rows, -1]`` only fails in
    ``session.run``, like a model that breaks on some inputs in production.
    """
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", features])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", features])
    grouped = numpy_helper.from_array(np.array([rows, -1], dtype=np.int64), "grouped")
    back = numpy_helper.from_array(np.array([-1, features], dtype=np.int64), "back")
    nodes = [
        helper.make_node("Reshape", ["x", "grouped"], ["g"]),
        helper.make_node("Reshape", ["g", "back"], ["y"]),
    ]
    return _finish(helper.make_graph(nodes, "fragile", [x], [y], [grouped, back]))


# --- models that fail on some requests: who is to blame ---------------------------------
def gather_rows(rows: int = 2) -> onnx.ModelProto:
    """``y = table[ids]`` over a table of ``rows`` rows: an id outside it fails the run."""
    table = np.arange(rows * 2, dtype=np.float32).reshape(rows, 2)
    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, ["n"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2])
    node = helper.make_node("Gather", ["table", "ids"], ["y"])
    graph = helper.make_graph(
        [node], "gather", [ids], [y], [numpy_helper.from_array(table, "table")]
    )
    return _finish(graph)


def reshape_to() -> onnx.ModelProto:
    """``y = reshape(x, shape)`` with the target shape given by the caller."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"])
    shape = helper.make_tensor_value_info("shape", TensorProto.INT64, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", "columns"])
    node = helper.make_node("Reshape", ["x", "shape"], ["y"])
    return _finish(helper.make_graph([node], "reshape", [x, shape], [y]))


def add_unrelated() -> onnx.ModelProto:
    """``y = a + b`` where the signature does not say the rows must agree (``n``, ``m``)."""
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["n", 4])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["m", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])
    return _finish(
        helper.make_graph([helper.make_node("Add", ["a", "b"], ["y"])], "add", [a, b], [y])
    )


def expand_to() -> onnx.ModelProto:
    """``y = expand(x, shape)``: the caller chooses how much memory the run needs."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    shape = helper.make_tensor_value_info("shape", TensorProto.INT64, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", "columns"])
    node = helper.make_node("Expand", ["x", "shape"], ["y"])
    return _finish(helper.make_graph([node], "expand", [x, shape], [y]))


def tile_columns(times: int, features: int = 4) -> onnx.ModelProto:
    """``y = tile(x, [1, times])``: a small request with a large answer."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", features])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", features * times])
    repeats = numpy_helper.from_array(np.array([1, times], dtype=np.int64), "repeats")
    node = helper.make_node("Tile", ["x", "repeats"], ["y"])
    return _finish(helper.make_graph([node], "tile", [x], [y], [repeats]))


def token_mask() -> onnx.ModelProto:
    """MiniLM-like inputs: ``input_ids`` and ``attention_mask`` INT64 [batch, sequence];
    ``masked = input_ids * attention_mask``."""
    dims = ["batch", "sequence"]
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, dims)
    mask = helper.make_tensor_value_info("attention_mask", TensorProto.INT64, dims)
    y = helper.make_tensor_value_info("masked", TensorProto.INT64, dims)
    node = helper.make_node("Mul", ["input_ids", "attention_mask"], ["masked"])
    return _finish(helper.make_graph([node], "tokens", [ids, mask], [y]))


def negate_flags() -> onnx.ModelProto:
    """BOOL in, BOOL out: ``y = not x`` over [batch, 3]."""
    x = helper.make_tensor_value_info("x", TensorProto.BOOL, ["batch", 3])
    y = helper.make_tensor_value_info("y", TensorProto.BOOL, ["batch", 3])
    return _finish(helper.make_graph([helper.make_node("Not", ["x"], ["y"])], "not", [x], [y]))


def one_hot_colors() -> onnx.ModelProto:
    """scikit-learn's ``OneHotEncoder(handle_unknown='error')`` over colour names: an
    unknown colour fails the run."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import StringTensorType
    from sklearn.preprocessing import OneHotEncoder

    encoder = OneHotEncoder(handle_unknown="error").fit(np.array([["red"], ["green"], ["blue"]]))
    converted: onnx.ModelProto = to_onnx(
        encoder,
        initial_types=[("color", StringTensorType([None, 1]))],
        target_opset={"": OPSET, "ai.onnx.ml": 3},
    )
    return converted


def gather(rows: int = 10) -> onnx.ModelProto:
    """``y = table[idx]`` over a ``[rows, 1]`` FP32 table (``table[i] = i``): an index
    outside ``[-rows, rows)`` passes validation and fails only inside ``session.run``."""
    table = numpy_helper.from_array(np.arange(rows, dtype=np.float32).reshape(rows, 1), "table")
    idx = helper.make_tensor_value_info("idx", TensorProto.INT64, ["batch"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])
    node = helper.make_node("Gather", ["table", "idx"], ["y"], axis=0)
    return _finish(helper.make_graph([node], "gather", [idx], [y], [table]))
