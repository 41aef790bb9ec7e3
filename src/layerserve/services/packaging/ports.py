"""What packaging needs from an ONNX toolchain, and how it reports progress."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from layerserve.domain.manifest import Signature

Arrays = dict[str, np.ndarray[Any, Any]]


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """What the graph says about itself (the manifest adds digests and sizes)."""

    ir_version: int
    opsets: dict[str, int]
    producer_name: str
    producer_version: str
    signature: Signature


class LoadedModel(Protocol):
    """A model that passed every check and has a live session."""

    @property
    def facts(self) -> ModelFacts: ...

    def run(self, feeds: Mapping[str, np.ndarray[Any, Any]]) -> Arrays:
        """All outputs by name; raises ``InferenceFailedError``."""
        ...


class ModelToolkit(Protocol):
    def load(self, data: bytes) -> LoadedModel:
        """Validate ``data`` fully and open it; raises ``InvalidModelError``."""
        ...

    def optimize(self, data: bytes) -> bytes:
        """Offline graph optimisation that stays portable across CPUs."""
        ...

    def quantize_int8(self, data: bytes) -> bytes:
        """Dynamic quantisation: per-channel, signed int8 weights."""
        ...


class Progress(Protocol):
    def step(self, description: str) -> AbstractContextManager[None]:
        """Wrap one slow step; the caller may show a spinner and the elapsed time."""
        ...


class SilentProgress:
    """The default: report nothing."""

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        del description
        yield
