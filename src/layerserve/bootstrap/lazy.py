"""Built on first use, so that importing an entry point creates no AWS client (moto can
start first) and reads no setting: ``OnFirstUse`` for anything, ``LazyHandler`` for a
Lambda handler."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from layerserve.adapters.lambda_handler import Handler

__all__ = ["Handler", "LazyHandler", "OnFirstUse"]
Built = TypeVar("Built")


class OnFirstUse(Generic[Built]):
    """``build()`` once, on the first ``get()``; every ``get()`` then returns what it built.

    A build that raises is not remembered: the next ``get()`` tries again.
    """

    def __init__(self, build: Callable[[], Built]) -> None:
        self._build = build
        self._built: Built | None = None
        self._lock = threading.Lock()

    def get(self) -> Built:
        if self._built is None:
            with self._lock:
                if self._built is None:
                    self._built = self._build()
        return self._built


class LazyHandler(OnFirstUse[Handler]):
    """A handler built on its first invocation; every invocation then goes to it."""

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self.get()(event, context)
