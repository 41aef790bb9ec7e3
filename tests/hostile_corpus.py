"""Hand-written hostile and unusual requests, by category: each must answer 4xx.

A case is (model, body, headers, route). Bodies are bytes so that nothing here is
limited by what a JSON encoder will write (deep nesting, bad UTF-8, huge literals).
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(frozen=True)
class Case:
    model: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    path: str = ""
    """The route, when not the model's V2 infer route."""

    def route(self) -> str:
        return self.path or f"/v2/models/{self.model}/infer"


def _json(model: str, document: Any, **kw: Any) -> Case:
    return Case(model, orjson.dumps(document), **kw)


def _one(model: str, datatype: str, shape: Any, data: Any, name: str = "x") -> Case:
    return _json(
        model, {"inputs": [{"name": name, "datatype": datatype, "shape": shape, "data": data}]}
    )


def _binary(
    model: str, inputs: list[dict[str, Any]], tail: bytes, length: str | None = None
) -> Case:
    header = orjson.dumps({"inputs": inputs})
    headers = {"inference-header-content-length": length or str(len(header))}
    return Case(model, header + tail, headers)


def _literal(model: str, datatype: str, shape: str, data: str) -> Case:
    """A body written as text: literals no JSON encoder writes (NaN, huge numbers)."""
    name = "input" if model == "classifier" else "x"
    text = (
        f'{{"inputs":[{{"name":"{name}","datatype":"{datatype}","shape":{shape},"data":{data}}}]}}'
    )
    return Case(model, text.encode())


def _deep(datatype: str, leaf: str, depth: int, model: str) -> Case:
    data = "[" * depth + leaf + "]" * depth
    text = f'{{"inputs":[{{"name":"x","datatype":"{datatype}","shape":[1],"data":{data}}}]}}'
    return Case(model, text.encode())


def _bytes_blob(*values: bytes) -> bytes:
    return b"".join(struct.pack("<I", len(v)) + v for v in values)


X_I64 = {"name": "x", "datatype": "INT64", "shape": [1, 3]}
IRIS = {"name": "input", "datatype": "FP32", "shape": [1, 4], "data": [5.1, 3.5, 1.4, 0.2]}

BODY = [
    Case("classifier", b"not json"),
    Case("classifier", b""),
    Case("classifier", b"\xff\xfe\x00garbage"),
    Case("classifier", b"[1, 2, 3]"),
    Case("classifier", b"{}"),
    Case("classifier", b'{"inputs": {}}'),
    Case("classifier", b'{"inputs": []}'),
    Case("classifier", b'{"inputs": [1]}'),
    Case("classifier", b'{"inputs": [{}]}'),
    Case("classifier", b'{"inputs": [{"name": 7}]}'),
    Case("classifier", b'{"inputs": [{"name": ""}]}'),
    _json("classifier", {"inputs": [{**IRIS, "datatype": None}]}),
    _json("classifier", {"inputs": [{**IRIS, "datatype": "fp32"}]}),
    _json("classifier", {"inputs": [{**IRIS, "datatype": "FLOAT128"}]}),
    _json("classifier", {"inputs": [{**IRIS, "parameters": []}]}),
    _json("classifier", {"inputs": [IRIS], "parameters": "yes"}),
    _json("classifier", {"inputs": [IRIS], "outputs": "label"}),
    _json("classifier", {"inputs": [IRIS], "outputs": [{"nom": "label"}]}),
    _json("classifier", {"inputs": [IRIS], "outputs": [{"name": "label", "parameters": 1}]}),
    _json("classifier", {"inputs": [IRIS], "outputs": [{"name": "nope"}]}),
    _json("classifier", {"inputs": [IRIS], "id": 12}),
    _json("classifier", {"inputs": [IRIS, IRIS]}),
    _json("classifier", {"inputs": [{**IRIS, "name": "other"}]}),
    _json(
        "tokens",
        {"inputs": [{"name": "input_ids", "datatype": "INT64", "shape": [1, 1], "data": [1]}]},
    ),
    _literal("classifier", "FP32", "[1, 4]", "[1, 2, 3, NaN]"),
    _literal("int64", "INT64", "[1, 3]", "[1, 2, 99999999999999999999999]"),
    _literal("classifier", "FP32", "[1, 4]", "[1e999, 2, 3, 4]"),
    Case("classifier", b'{"inputs": [' * 2000 + b"]" * 2000 + b"}"),
]

DATA = [
    _one("int64", "INT64", [1, 3], [1, None, 3]),
    _one("int64", "INT64", [1, 3], [1, {}, 3]),
    _one("int64", "INT64", [1, 3], [[1, None, 3]]),
    _one("int64", "INT64", [1, 3], [[1, {"k": [1]}, 3]]),
    _one("int64", "INT64", [1, 3], [[1, [2], 3]]),
    _one("int64", "INT64", [1, 3], [1.5, 2, 3]),
    _one("int64", "INT64", [1, 3], ["1", 2, 3]),
    _one("uint64", "UINT64", [1, 3], [-1, 2, 3]),
    _one("uint64", "UINT64", [1, 3], [18446744073709551615, None, 3]),
    _one("classifier", "FP32", [1, 4], [1, None, 3, 4]),
    _one("classifier", "FP32", [1, 4], [1, "2", 3, 4]),
    _one("classifier", "FP32", [1, 4], [[1, 2], [3]]),
    _one("classifier", "FP32", [1, 4], [1, 2, 3]),
    _one("classifier", "FP32", [1, 4], 1.0),
    _one("classifier", "FP32", [1, 4], {"a": 1}),
    _one("half", "FP16", [1, 3], [1, None, 3]),
    _one("half", "FP16", [1, 3], [[1, 2, 3], [4, 5, 6]]),
    _one("flags", "BOOL", [1, 3], [1, 0, 1]),
    _one("flags", "BOOL", [1, 3], [True, None, False]),
    _one("flags", "BOOL", [1, 3], ["true", False, True]),
    _one("text", "BYTES", [2], ["a", None]),
    _one("text", "BYTES", [2], ["a", 1]),
    _one("text", "BYTES", [2], ["a", {"b": "c"}]),
    _one("text", "BYTES", [2], [["a"], "b"]),
    _one("words", "BYTES", [1], [None], name="text"),
    _deep("BYTES", '"a"', 33, "text"),
    _deep("BYTES", '"a"', 65, "text"),
    _deep("BYTES", '"a"', 1000, "text"),
    _deep("INT64", "1", 33, "int64"),
    _deep("FP32", "1.0", 64, "classifier"),
]

SHAPES = [
    _one("int64", "INT64", [0, 9223372036854775807], []),
    _one("int64", "INT64", [9223372036854775807, 0], []),
    _one("int64", "INT64", [0, 2**31, 2**31, 2**31], []),
    _one("text", "BYTES", [0, 2**62], []),
    _one("int64", "INT64", [-1, 3], [1, 2, 3]),
    _one("int64", "INT64", [1.0, 3], [1, 2, 3]),
    _one("int64", "INT64", [True, 3], [1, 2, 3]),
    _one("int64", "INT64", "1,3", [1, 2, 3]),
    _one("int64", "INT64", [1] * 33, [1]),
    _one("int64", "INT64", [3], [1, 2, 3]),
    _one("int64", "INT64", [1, 4], [1, 2, 3, 4]),
    _one("int64", "INT64", [], 1),
    _one("int64", "INT64", [2, 3], [1, 2, 3]),
    _one("classifier", "FP32", [4, 1], [1, 2, 3, 4]),
]

BINARY = [
    _binary("int64", [{**X_I64, "parameters": {"binary_data_size": 24}}], bytes(24), length="x"),
    _binary("int64", [{**X_I64, "parameters": {"binary_data_size": 24}}], bytes(24), length="0"),
    _binary("int64", [{**X_I64, "parameters": {"binary_data_size": 24}}], bytes(24), length="-5"),
    _binary(
        "int64", [{**X_I64, "parameters": {"binary_data_size": 24}}], bytes(24), length="99999"
    ),
    _binary("int64", [{**X_I64, "parameters": {"binary_data_size": 24}}], bytes(24), length="3"),
    _binary("int64", [{**X_I64, "parameters": {"binary_data_size": -24}}], bytes(24)),
    _binary("int64", [{**X_I64, "parameters": {"binary_data_size": True}}], bytes(24)),
    _binary("int64", [{**X_I64, "parameters": {"binary_data_size": "24"}}], bytes(24)),
    _binary("int64", [{**X_I64, "parameters": {"binary_data_size": 2**63}}], bytes(24)),
    _binary("int64", [{**X_I64, "parameters": {"binary_data_size": 23}}], bytes(23)),
    _binary("int64", [{**X_I64, "parameters": {"binary_data_size": 24}}], bytes(30)),
    _binary("int64", [{**X_I64, "parameters": {"binary_data_size": 24}}], bytes(10)),
    _binary("int64", [{**X_I64, "shape": [0, 2**62], "parameters": {"binary_data_size": 0}}], b""),
    _binary(
        "text",
        [{"name": "x", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 2}}],
        b"\x01\x00",
    ),
    _binary(
        "text",
        [{"name": "x", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 5}}],
        b"\xff\xff\xff\x7fa",
    ),
    _binary(
        "text",
        [{"name": "x", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 6}}],
        _bytes_blob(b"\xff\xfe"),
    ),
    _binary(
        "text",
        [{"name": "x", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": 5}}],
        _bytes_blob(b"a"),
    ),
    _binary(
        "text",
        [
            {
                "name": "x",
                "datatype": "BYTES",
                "shape": [0],
                "parameters": {"binary_data_size": 4000},
            }
        ],
        _bytes_blob(b"") * 1000,
    ),
    _binary(
        "flags",
        [{"name": "x", "datatype": "BOOL", "shape": [1, 3], "parameters": {"binary_data_size": 2}}],
        b"\x01\x00",
    ),
    Case(
        "int64",
        b'{"inputs":[{"name":"x","datatype":"INT64","shape":[1,3],"parameters":{"binary_data_size":24}}]',
        {"inference-header-content-length": "20"},
    ),
]

CONSISTENCY = [
    _json(
        "addmul",
        {
            "inputs": [
                {"name": "a", "datatype": "FP32", "shape": [2, 4], "data": [0] * 8},
                {"name": "b", "datatype": "FP32", "shape": [3, 4], "data": [0] * 12},
            ]
        },
    ),
    _json(
        "tokens",
        {
            "inputs": [
                {"name": "input_ids", "datatype": "INT64", "shape": [1, 4], "data": [1, 2, 3, 4]},
                {"name": "attention_mask", "datatype": "INT64", "shape": [1, 3], "data": [1, 1, 1]},
            ]
        },
    ),
    _json(
        "tokens",
        {
            "inputs": [
                {"name": "input_ids", "datatype": "INT64", "shape": [2, 2], "data": [1, 2, 3, 4]},
                {
                    "name": "attention_mask",
                    "datatype": "INT64",
                    "shape": [1, 4],
                    "data": [1, 1, 1, 1],
                },
            ]
        },
    ),
    _json(
        "unrelated",
        {
            "inputs": [
                {"name": "a", "datatype": "FP32", "shape": [2, 4], "data": [0] * 8},
                {"name": "b", "datatype": "FP32", "shape": [3, 4], "data": [0] * 12},
            ]
        },
    ),
]

RUNTIME = [
    _one("gather", "INT64", [2], [0, 2], name="ids"),
    _one("gather", "INT64", [1], [-3], name="ids"),
    _one("gather", "INT64", [1], [9223372036854775807], name="ids"),
    _one("colors", "BYTES", [1, 1], ["purple"], name="color"),
    _one("colors", "BYTES", [2, 1], ["red", ""], name="color"),
]

ENCODING = [
    Case("classifier", b"\x1f\x8b\x08garbage", {"content-encoding": "gzip"}),
    Case(
        "classifier",
        gzip.compress(orjson.dumps({"inputs": [IRIS]}))[:-6],
        {"content-encoding": "gzip"},
    ),
    Case("classifier", orjson.dumps({"inputs": [IRIS]}), {"content-encoding": "br"}),
    Case("classifier", gzip.compress(b" " * (8 * 1024 * 1024)), {"content-encoding": "gzip"}),
    Case("classifier", b"{" * (2 * 1024 * 1024)),
]

V1 = [
    Case("classifier", b'{"instances": {}}', path="/v1/models/classifier:predict"),
    Case("classifier", b'{"instances": []}', path="/v1/models/classifier:predict"),
    Case("classifier", b"[1]", path="/v1/models/classifier:predict"),
    Case("classifier", b'{"instances": [[1, 2], [3]]}', path="/v1/models/classifier:predict"),
    Case("classifier", b'{"instances": [[1, null, 3, 4]]}', path="/v1/models/classifier:predict"),
    Case("int64", b'{"instances": [[1, null, 3]]}', path="/v1/models/int64:predict"),
    Case("int64", b'{"instances": [[1, {}, 3]]}', path="/v1/models/int64:predict"),
    Case(
        "text",
        b'{"instances": ' + b"[" * 40 + b'"a"' + b"]" * 40 + b"}",
        path="/v1/models/text:predict",
    ),
    Case("tokens", b'{"instances": [[1, 2]]}', path="/v1/models/tokens:predict"),
    Case("tokens", b'{"instances": [{"input_ids": [1, 2]}]}', path="/v1/models/tokens:predict"),
    Case(
        "tokens",
        b'{"instances": [{"input_ids": [1, 2], "attention_mask": [1]}]}',
        path="/v1/models/tokens:predict",
    ),
    Case("gather", b'{"instances": [5]}', path="/v1/models/gather:predict"),
]

ROUTES = [
    _json("nope", {"inputs": [IRIS]}),
    _json("classifier", {"inputs": [IRIS]}, path="/v2/models/classifier/versions/9/infer"),
    _json("classifier", {"inputs": [IRIS]}, path="/v2/models/classifier/versions/%C3%A9/infer"),
    _json("classifier", {"inputs": [IRIS]}, path="/v2/models/classifier/inference"),
]

CORPUS: dict[str, list[Case]] = {
    "body": BODY,
    "data": DATA,
    "shapes": SHAPES,
    "binary": BINARY,
    "consistency": CONSISTENCY,
    "runtime": RUNTIME,
    "encoding": ENCODING,
    "v1": V1,
    "routes": ROUTES,
}
