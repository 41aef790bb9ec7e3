"""The onnxruntime blame rule on real sessions: the request's values are the caller's,
a graph that cannot take an admitted shape is the model's, memory is the service's."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest

from layerserve.adapters.onnx_runtime import OrtModel, OrtSessionFactory
from layerserve.domain.errors import (
    Blame,
    InferenceFailedError,
    InferenceResourcesError,
    ModelRejectedInputError,
    blame_of,
    is_retryable,
)
from tests import onnx_builders
from tests.hostile_support import quiet_onnxruntime


def session(model: object) -> OrtModel:
    return OrtSessionFactory(intra_op_threads=1)(model.SerializeToString())  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _quiet() -> object:
    with quiet_onnxruntime():
        yield


def test_an_index_outside_the_table_is_the_callers() -> None:
    model = session(onnx_builders.gather_rows(2))
    with pytest.raises(ModelRejectedInputError) as caught:
        model.run({"ids": np.array([2], dtype=np.int64)}, [])
    assert blame_of(caught.value) is Blame.CALLER and not is_retryable(caught.value)
    assert caught.value.message == (
        "model rejected the input: Gather node: indices element out of data bounds, "
        "idx=2 must be within the inclusive range [-2,1]"
    )


def test_an_unknown_category_is_the_callers() -> None:
    model = session(onnx_builders.one_hot_colors())
    with pytest.raises(ModelRejectedInputError, match="Unknown Category"):
        model.run({"color": np.array([["mauve"]], dtype=object)}, [])


def test_tensors_that_do_not_broadcast_are_the_callers() -> None:
    model = session(onnx_builders.add_unrelated())
    feeds = {"a": np.ones((2, 4), np.float32), "b": np.ones((3, 4), np.float32)}
    with pytest.raises(ModelRejectedInputError, match="Add node: Attempting to broadcast"):
        model.run(feeds, [])


def test_a_feed_onnxruntime_calls_invalid_is_the_callers() -> None:
    model = session(onnx_builders.identity("FP32", ("batch", 4)))
    with pytest.raises(ModelRejectedInputError, match="Unexpected input data type"):
        model.run({"x": np.ones((1, 4), np.float64)}, [])


def test_a_reshape_the_graph_cannot_do_is_the_models() -> None:
    model = session(onnx_builders.fails_unless_batch_divides())
    with pytest.raises(InferenceFailedError) as caught:
        model.run({"x": np.ones((2, 4), np.float32)}, [])
    assert blame_of(caught.value) is Blame.MODEL
    assert caught.value.message == (
        "inference failed: Reshape node: The input tensor cannot be reshaped to the "
        "requested shape. Input shape:{2,4}, requested shape:{3,-1}"
    )


def test_one_buffer_larger_than_the_machine_is_the_callers() -> None:
    model = session(onnx_builders.expand_to())
    feeds: dict[str, np.ndarray[Any, Any]] = {
        "x": np.ones(1, np.float32),
        "shape": np.array([2**24, 2**30], dtype=np.int64),
    }
    with pytest.raises(ModelRejectedInputError, match="Failed to allocate memory") as caught:
        model.run(feeds, [])
    assert "bytes of memory this function has" in caught.value.message


def test_memory_the_environment_lacks_is_the_services_and_retryable() -> None:
    """In a child process limited to a little more address space than it uses, a 512 MiB
    buffer (less than the machine has) cannot be allocated: 503, retry elsewhere."""
    script = textwrap.dedent(
        """
        import resource, numpy as np
        import onnxruntime as ort
        from layerserve.adapters.onnx_runtime import OrtSessionFactory
        from layerserve.protocol.status import status_for
        from layerserve.domain.errors import is_retryable
        from tests import onnx_builders
        ort.set_default_logger_severity(4)
        model = OrtSessionFactory(1)(onnx_builders.expand_to().SerializeToString())
        used = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (used + 256 * 2**20, resource.RLIM_INFINITY))
        try:
            model.run({"x": np.ones(1, np.float32), "shape": np.array([2**17, 2**10])}, [])
        except Exception as exc:
            print(type(exc).__name__, status_for(exc), is_retryable(exc), exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.startswith(
        f"{InferenceResourcesError.__name__} 503 True inference ran out of memory: "
        "Expand node: Failed to allocate memory"
    ), done.stdout + done.stderr
