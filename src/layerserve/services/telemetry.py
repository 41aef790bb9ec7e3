"""What the data plane reports about each request (metrics port)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from layerserve.domain import errors

ErrorKind = Literal["client", "server", "model"]
ERROR_KINDS: tuple[ErrorKind, ...] = ("client", "server", "model")


def error_metric(kind: ErrorKind) -> str:
    """The per-kind error metric: ``ClientErrors``, ``ServerErrors``, ``ModelErrors``."""
    return f"{kind.capitalize()}Errors"


METRIC_NAMES = frozenset(
    {"Requests", "Latency", "RunLatency", "BatchSize", "Errors"}
    | {error_metric(kind) for kind in ERROR_KINDS}
)
"""Every per-request CloudWatch metric (the dashboard and alarms refer to these)."""


@dataclass(slots=True)
class RequestOutcome:
    """One finished request, successful or not."""

    route: str
    status: int
    latency_s: float
    model: str | None = None
    version: str | None = None
    alias: str | None = None
    alias_revision: int | None = None
    error_kind: ErrorKind | None = None
    run_s: float | None = None
    batch_size: int | None = None
    input_elements: int | None = None
    outputs: dict[str, np.ndarray[Any, Any]] | None = None
    request_id: str | None = None


class RequestObserver(Protocol):
    def observe(self, outcome: RequestOutcome) -> None: ...


class NullObserver:
    def observe(self, outcome: RequestOutcome) -> None:
        del outcome


class FanOutObserver:
    """Reports each outcome to several observers (EMF metrics, metric records, ...)."""

    def __init__(self, observers: Sequence[RequestObserver]) -> None:
        self._observers = tuple(observers)

    def observe(self, outcome: RequestOutcome) -> None:
        for observer in self._observers:
            observer.observe(outcome)


_KIND_OF_BLAME: dict[errors.Blame, ErrorKind] = {
    errors.Blame.CALLER: "client",
    errors.Blame.MODEL: "model",
    errors.Blame.SERVICE: "server",
}


def error_kind(exc: BaseException) -> ErrorKind:
    """The metric error kind: who is to blame (``domain.errors.blame_of``), nothing else."""
    return _KIND_OF_BLAME[errors.blame_of(exc)]
