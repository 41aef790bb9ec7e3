"""Checks a request and a loaded graph must pass against the manifest's signature."""

from __future__ import annotations

import numpy as np
import pytest

from layerserve.domain.errors import InvalidInputError
from layerserve.domain.manifest import Signature, TensorSpec
from layerserve.domain.tensors import InferInput, check_inputs, signature_mismatch

TOKENS = Signature(
    inputs=(
        TensorSpec(name="ids", datatype="INT64", shape=("batch", "sequence")),
        TensorSpec(name="mask", datatype="INT64", shape=("batch", "sequence")),
        TensorSpec(name="extra", datatype="FP32", shape=(None, 2)),
    ),
    outputs=(TensorSpec(name="y", datatype="FP32", shape=("batch", 2)),),
)


def _inputs(
    ids: tuple[int, ...], mask: tuple[int, ...], extra: tuple[int, ...]
) -> list[InferInput]:
    return [
        InferInput("ids", "INT64", ids, np.zeros(ids, np.int64)),
        InferInput("mask", "INT64", mask, np.zeros(mask, np.int64)),
        InferInput("extra", "FP32", extra, np.zeros(extra, np.float32)),
    ]


def test_shared_names_agree_and_unnamed_dimensions_are_free() -> None:
    check_inputs(TOKENS, _inputs((2, 5), (2, 5), (7, 2)))


@pytest.mark.parametrize(
    ("ids", "mask", "words"),
    [
        ((2, 5), (3, 5), "dimension 'batch': 'ids' has 2 on axis 0, 'mask' has 3 on axis 0"),
        ((2, 5), (2, 4), "dimension 'sequence': 'ids' has 5 on axis 1, 'mask' has 4 on axis 1"),
    ],
)
def test_shared_names_that_disagree_are_the_callers(
    ids: tuple[int, ...], mask: tuple[int, ...], words: str
) -> None:
    with pytest.raises(InvalidInputError, match=words):
        check_inputs(TOKENS, _inputs(ids, mask, (1, 2)))


def test_a_name_shared_within_one_input_is_checked_too() -> None:
    square = Signature(
        inputs=(TensorSpec(name="m", datatype="FP32", shape=("n", "n", 3)),), outputs=()
    )
    check_inputs(square, [InferInput("m", "FP32", (2, 2, 3), np.zeros((2, 2, 3), np.float32))])
    with pytest.raises(InvalidInputError, match="'m' has 2 on axis 0, 'm' has 4 on axis 1"):
        check_inputs(square, [InferInput("m", "FP32", (2, 4, 3), np.zeros((2, 4, 3), np.float32))])
    with pytest.raises(InvalidInputError, match="size 4 on axis 2, the model expects 3"):
        check_inputs(square, [InferInput("m", "FP32", (2, 2, 4), np.zeros((2, 2, 4), np.float32))])


def test_equal_signatures_keep_their_own_checks() -> None:
    """The prepared checks belong to one signature object, never to a look-alike."""
    for size in (2, 3, 2):
        fixed = Signature(
            inputs=(TensorSpec(name="x", datatype="FP32", shape=("batch", size)),), outputs=()
        )
        check_inputs(fixed, [InferInput("x", "FP32", (1, size), np.zeros((1, size), np.float32))])
        with pytest.raises(InvalidInputError, match=f"the model expects {size}"):
            check_inputs(fixed, [InferInput("x", "FP32", (1, 9), np.zeros((1, 9), np.float32))])


def test_a_signature_agrees_with_itself() -> None:
    assert signature_mismatch(TOKENS, TOKENS) is None


def test_every_difference_is_named() -> None:
    graph = Signature(
        inputs=(
            TensorSpec(name="ids", datatype="INT32", shape=("batch", "sequence")),
            TensorSpec(name="mask", datatype="INT64", shape=("batch", 8)),
            TensorSpec(name="other", datatype="FP32", shape=(None, 2)),
        ),
        outputs=(TensorSpec(name="y", datatype="FP16", shape=("batch", 2)),),
    )
    assert signature_mismatch(TOKENS, graph) == (
        "the graph has no input 'extra'; the manifest does not list input 'other'; "
        "input 'ids' is INT64 [batch, sequence] in the manifest but INT32 [batch, sequence] "
        "in the graph; input 'mask' is INT64 [batch, sequence] in the manifest but INT64 "
        "[batch, 8] in the graph; output 'y' is FP32 [batch, 2] in the manifest but FP16 "
        "[batch, 2] in the graph"
    )
