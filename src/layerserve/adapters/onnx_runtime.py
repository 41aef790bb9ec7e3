"""onnxruntime sessions tuned for Lambda, and runtime errors translated to ours."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from layerserve.domain.errors import InferenceFailedError, InvalidInputError, InvalidModelError
from layerserve.domain.manifest import GraphOptimizationLevel, SessionSettings

# onnxruntime raises these from its C++ core; InvalidArgument means the feed was wrong.
_ORT_ERRORS = ort.capi.onnxruntime_pybind11_state
_INVALID_INPUT = (_ORT_ERRORS.InvalidArgument, _ORT_ERRORS.InvalidGraph)


def available_cpus() -> int:
    """CPUs this process may run on (Lambda grants vCPUs with memory)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


GRAPH_LEVELS: dict[GraphOptimizationLevel, ort.GraphOptimizationLevel] = {
    "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}
DEFAULT_SETTINGS = SessionSettings()
"""For manifests that record no session settings (written before they were verified)."""


def session_options(
    intra_op_threads: int = 0, level: GraphOptimizationLevel = "all"
) -> ort.SessionOptions:
    """The options of every session: the runtime's, and the packager's checks."""
    options = ort.SessionOptions()
    options.graph_optimization_level = GRAPH_LEVELS[level]
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
        except _INVALID_INPUT as exc:
            raise InvalidInputError(f"the model rejected the input: {_first_line(exc)}") from exc
        except (_ORT_ERRORS.Fail, _ORT_ERRORS.RuntimeException) as exc:
            raise InferenceFailedError(f"inference failed: {_first_line(exc)}") from exc


class OrtSessionFactory:
    """Creates sessions on the CPU provider with Lambda-friendly threading, with the
    session settings the packager verified (its defaults for older manifests)."""

    def __init__(self, intra_op_threads: int = 0) -> None:
        self._intra_op_threads = intra_op_threads

    def __call__(self, onnx: bytes | Path, settings: SessionSettings | None = None) -> OrtModel:
        level = (settings or DEFAULT_SETTINGS).graph_optimization_level
        try:
            session = ort.InferenceSession(
                onnx if isinstance(onnx, bytes) else str(onnx),
                sess_options=session_options(self._intra_op_threads, level),
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
