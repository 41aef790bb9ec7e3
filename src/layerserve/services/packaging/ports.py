"""What packaging needs from an ONNX toolchain, and how it reports progress."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from layerserve.domain.manifest import SessionSettings, Signature

Arrays = dict[str, np.ndarray[Any, Any]]


@dataclass(frozen=True, slots=True)
class InputHint:
    """What the graph tells about the values an input accepts (for generated samples).

    ``low``/``high``: integers in ``[low, high)``; ``categories``: the values accepted,
    by column (``None``: every column); ``words``: the vocabulary of a text input;
    ``mask``: a 0/1 attention mask. ``because`` says where each fact came from.
    """

    low: int | None = None
    high: int | None = None
    categories: dict[int | None, tuple[str | int, ...]] = field(default_factory=dict)
    words: tuple[str, ...] = ()
    mask: bool = False
    because: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """What the graph says about itself (the manifest adds digests and sizes)."""

    ir_version: int
    opsets: dict[str, int]
    producer_name: str
    producer_version: str
    signature: Signature
    hints: dict[str, InputHint] = field(default_factory=dict)
    """By input name: what generated samples must respect."""
    reaches: dict[str, frozenset[str]] = field(default_factory=dict)
    """By node name: the graph inputs its values depend on (to name a failing input)."""
    int8_blocker: str = ""
    """Why int8 dynamic quantisation has nothing to change in this model ("" if it has)."""


class LoadedModel(Protocol):
    """A model that passed every check and has a live session."""

    @property
    def facts(self) -> ModelFacts: ...

    def run(self, feeds: Mapping[str, np.ndarray[Any, Any]]) -> Arrays:
        """All outputs by name; raises ``InferenceFailedError``."""
        ...


class ModelToolkit(Protocol):
    def portable(self, data: bytes) -> tuple[bytes, tuple[str, ...]]:
        """``data`` with what stops it loading elsewhere fixed, and a note per fix."""
        ...

    def load(self, data: bytes, settings: SessionSettings) -> LoadedModel:
        """Validate ``data`` fully and open it with ``settings``; raises
        ``InvalidModelError`` (``RuntimeCrashError`` when onnxruntime crashes)."""
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
