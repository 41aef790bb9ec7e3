"""Make a model load wherever it is served, not only where it was exported."""

from __future__ import annotations

import onnx
from onnx import helper

from layerserve.adapters.onnx_graph.walk import iter_nodes

PORTABLE_LOCALE = "C.UTF-8"
"""The one UTF-8 locale every Linux image has, Lambda's included."""


def pin_string_locales(model: onnx.ModelProto) -> tuple[str, ...]:
    """Give each ``StringNormalizer`` without a locale the portable one, in place.

    Without the attribute onnxruntime uses ``en_US.UTF-8``, which Lambda's runtime (and
    many minimal images) lacks: the model would fail to load there. Returns a note per
    change; ASCII text normalises the same under both locales.
    """
    notes: list[str] = []
    for where, node in iter_nodes(model):
        if node.op_type != "StringNormalizer" or node.domain not in ("", "ai.onnx"):
            continue
        if any(attr.name == "locale" for attr in node.attribute):
            continue
        node.attribute.append(helper.make_attribute("locale", PORTABLE_LOCALE))
        label = f"StringNormalizer '{node.name}'" if node.name else "a StringNormalizer"
        notes.append(
            f"{label}{where} had no locale (onnxruntime then needs en_US.UTF-8, which "
            f"Lambda lacks); it now uses {PORTABLE_LOCALE}"
        )
    return tuple(notes)
