"""Visit every node and every tensor of a model: main graph, subgraphs, local functions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import onnx


def _label(node: onnx.NodeProto) -> str:
    return f"node '{node.name}'" if node.name else f"{node.op_type} node"


def _subgraphs(node: onnx.NodeProto, where: str) -> Iterator[tuple[str, onnx.GraphProto]]:
    for attr in node.attribute:
        inner = f"subgraph '{attr.name}' of {_label(node)}{where}"
        if attr.HasField("g"):
            yield inner, attr.g
        for graph in attr.graphs:
            yield inner, graph


def iter_nodes(model: onnx.ModelProto) -> Iterator[tuple[str, onnx.NodeProto]]:
    """Every node with a description of where it lives (for error messages)."""
    for where, nodes in _node_lists(model):
        for node in nodes:
            yield where, node
            for inner, graph in _subgraphs(node, where):
                yield from _graph_nodes(graph, f" in {inner}")


def _node_lists(model: onnx.ModelProto) -> Iterator[tuple[str, Iterable[onnx.NodeProto]]]:
    yield "", model.graph.node
    for function in model.functions:
        yield f" in function '{function.domain}:{function.name}'", function.node


def _graph_nodes(graph: onnx.GraphProto, where: str) -> Iterator[tuple[str, onnx.NodeProto]]:
    for node in graph.node:
        yield where, node
        for inner, sub in _subgraphs(node, where):
            yield from _graph_nodes(sub, f" in {inner}")


def iter_tensors(model: onnx.ModelProto) -> Iterator[tuple[str, onnx.TensorProto]]:
    """Every stored tensor: initializers (dense and sparse) and tensor attributes."""
    yield from _graph_tensors(model.graph, "")
    for where, node in iter_nodes(model):
        yield from _attribute_tensors(node.attribute, f"{_label(node)}{where}")
    for function in model.functions:
        owner = f"function '{function.domain}:{function.name}'"
        yield from _attribute_tensors(function.attribute_proto, owner)
    for inner, graph in _all_subgraphs(model):
        yield from _graph_tensors(graph, f" in {inner}")


def _all_subgraphs(model: onnx.ModelProto) -> Iterator[tuple[str, onnx.GraphProto]]:
    for where, node in iter_nodes(model):
        yield from _subgraphs(node, where)


def _graph_tensors(graph: onnx.GraphProto, where: str) -> Iterator[tuple[str, onnx.TensorProto]]:
    for tensor in graph.initializer:
        yield f"initializer '{tensor.name}'{where}", tensor
    for sparse in graph.sparse_initializer:
        label = f"sparse initializer '{sparse.values.name}'{where}"
        yield label, sparse.values
        yield label, sparse.indices


def _attribute_tensors(
    attributes: Iterable[onnx.AttributeProto], owner: str
) -> Iterator[tuple[str, onnx.TensorProto]]:
    for attr in attributes:
        label = f"attribute '{attr.name}' of {owner}"
        if attr.HasField("t"):
            yield label, attr.t
        for tensor in attr.tensors:
            yield label, tensor
        sparse_list = [attr.sparse_tensor] if attr.HasField("sparse_tensor") else []
        for sparse in [*sparse_list, *attr.sparse_tensors]:
            yield label, sparse.values
            yield label, sparse.indices
