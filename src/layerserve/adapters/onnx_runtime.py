"""onnxruntime sessions tuned for Lambda, and runtime errors translated to ours.

Who is to blame when ``session.run`` fails on a request that passed the signature checks
(the rule, in this order):

1. the runtime could not get memory (``Failed to allocate``, ``bad_alloc``, ``out of
   memory``): the service's, retryable (503): the execution environment's share ran out.
   Unless the one buffer asked for is larger than all the memory the function has: no
   environment can serve that request, so it is the caller's (400);
2. status ``INVALID_ARGUMENT``, or a kernel that failed on the request's *values* or on
   tensors that do not fit *together* (an index outside a table, ``Unknown Category``,
   ``Attempting to broadcast``, ``out of bounds``/``out of range``): the caller's (400,
   ``model rejected the input: <onnxruntime's message>``);
3. anything else (a ``Reshape`` that cannot take a shape the signature admits, a kernel
   that fails for another reason): the model's (500): the signature promised a shape or a
   value the graph cannot take, so it fails whoever calls it.

The message keeps onnxruntime's words without its status prefix or source locations.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from layerserve.domain.datatypes import ONNX_TO_V2
from layerserve.domain.errors import (
    InferenceFailedError,
    InferenceResourcesError,
    InvalidModelError,
    LayerserveError,
    ModelRejectedInputError,
)
from layerserve.domain.manifest import Dim, Signature, TensorSpec

_ORT_ERRORS = ort.capi.onnxruntime_pybind11_state
_ORT_RAISES = (
    _ORT_ERRORS.Fail,
    _ORT_ERRORS.RuntimeException,
    _ORT_ERRORS.InvalidArgument,
    _ORT_ERRORS.InvalidGraph,
    _ORT_ERRORS.NotImplemented,
    _ORT_ERRORS.EngineError,
    _ORT_ERRORS.EPFail,
)
_OUT_OF_MEMORY = re.compile(r"Failed to allocate|bad_alloc|out of memory", re.IGNORECASE)
_BUFFER_SIZE = re.compile(r"buffer of size (\d+)")
_CALLERS_DATA = re.compile(
    r"Unknown Category|Attempting to broadcast|out of (?:data )?bounds|out of range"
    r"|must be within",
    re.IGNORECASE,
)
_STATUS_PREFIX = re.compile(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ")
_NODE = re.compile(
    r"Non-zero status code returned while running (\w+) node\. Name:'([^']*)' "
    r"Status Message: "
)
_SOURCE = re.compile(r"/\S+\.(?:cc|h|cpp):\d+ .*?\) (?:.*? was false\. )?")


def memory_bytes() -> int:
    """Memory of this machine (in Lambda, the function's configured memory)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX
        return 2**63 - 1


def available_cpus() -> int:
    """CPUs this process may run on (Lambda grants vCPUs with memory)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def session_options(intra_op_threads: int = 0) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = intra_op_threads or available_cpus()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Spinning threads burn the few vCPUs a function has between requests.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class OrtModel:
    """One InferenceSession; ``run`` maps onnxruntime failures to layerserve errors."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session
        self.output_names = [out.name for out in session.get_outputs()]

    def run(
        self, feeds: dict[str, np.ndarray[Any, Any]], output_names: list[str]
    ) -> list[np.ndarray[Any, Any]]:
        try:
            return list(self._session.run(output_names or self.output_names, feeds))
        except _ORT_RAISES as exc:
            raise run_failure(exc) from exc

    @property
    def signature(self) -> Signature:
        """What the session itself takes and returns (to compare with the manifest)."""
        return Signature(
            inputs=tuple(_spec(arg) for arg in self._session.get_inputs()),
            outputs=tuple(_spec(arg) for arg in self._session.get_outputs()),
        )


def run_failure(exc: Exception) -> LayerserveError:
    """The layerserve error for an onnxruntime failure in ``run`` (rule: module docstring)."""
    reason = readable(exc)
    if _OUT_OF_MEMORY.search(reason):
        wanted = _BUFFER_SIZE.search(reason)
        if wanted is not None and int(wanted[1]) > memory_bytes():
            return ModelRejectedInputError(
                f"{reason} (more than the {memory_bytes()} bytes of memory this function has)"
            )
        return InferenceResourcesError(f"inference ran out of memory: {reason}")
    if isinstance(exc, _ORT_ERRORS.InvalidArgument) or _CALLERS_DATA.search(reason):
        return ModelRejectedInputError(reason)
    return InferenceFailedError(f"inference failed: {reason}")


def readable(exc: BaseException) -> str:
    """onnxruntime's message without its status prefix and C++ source locations."""
    text = _STATUS_PREFIX.sub("", _first_line(exc))
    text = _NODE.sub(lambda m: f"{m[1]} node '{m[2]}': " if m[2] else f"{m[1]} node: ", text)
    return _SOURCE.sub("", text).strip()


def _spec(arg: Any) -> TensorSpec:
    datatype = ONNX_TO_V2.get(arg.type, arg.type)
    return TensorSpec.model_construct(name=arg.name, datatype=datatype, shape=_dims(arg.shape))


def _dims(shape: Any) -> tuple[Dim, ...]:
    if not isinstance(shape, list):
        return ()
    return tuple(dim if isinstance(dim, int | str) else None for dim in shape)


class OrtSessionFactory:
    """Creates sessions on the CPU provider with Lambda-friendly threading."""

    def __init__(self, intra_op_threads: int = 0) -> None:
        self._intra_op_threads = intra_op_threads

    def __call__(self, onnx: bytes | Path) -> OrtModel:
        try:
            session = ort.InferenceSession(
                onnx if isinstance(onnx, bytes) else str(onnx),
                sess_options=session_options(self._intra_op_threads),
                providers=["CPUExecutionProvider"],
            )
        except Exception as exc:  # onnxruntime raises several unrelated types here
            raise InvalidModelError(
                f"onnxruntime cannot load the model: {_first_line(exc)}"
            ) from exc
        return OrtModel(session)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
