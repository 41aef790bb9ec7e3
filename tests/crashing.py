"""A packaging toolkit whose onnxruntime process really dies, the way a segfaulting
kernel kills it: for the crash-containment tests (runs inside the packager's child)."""

from __future__ import annotations

import os
import signal

from layerserve.adapters.onnx_graph import OnnxModel, OnnxToolkit
from layerserve.domain.manifest import SessionSettings


class SegfaultsAtLevelAll(OnnxToolkit):
    """Crashes (SIGSEGV) when a session is opened at the highest level, like the FP16 GRU
    that onnxruntime 1.31 cannot optimise at ORT_ENABLE_ALL."""

    def load(self, data: bytes, settings: SessionSettings | None = None) -> OnnxModel:
        if settings is None or settings.graph_optimization_level == "all":
            os.kill(os.getpid(), signal.SIGSEGV)
        return super().load(data, settings)


class SegfaultsAlways(OnnxToolkit):
    def load(self, data: bytes, settings: SessionSettings | None = None) -> OnnxModel:
        os.kill(os.getpid(), signal.SIGSEGV)
        raise AssertionError("unreachable")


class SegfaultsQuantising(OnnxToolkit):
    def quantize_int8(self, data: bytes) -> bytes:
        os.kill(os.getpid(), signal.SIGSEGV)
        raise AssertionError("unreachable")
