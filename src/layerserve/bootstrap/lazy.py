"""A Lambda handler built on its first invocation, so that importing an entry point
creates no AWS client (moto can start first) and reads no setting."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
"""``handler(event, context)``: ``context`` is Lambda's context object (or anything
with its attributes)."""


class LazyHandler:
    """``build()`` once, on the first call; every call then goes to what it built.

    A build that raises is not remembered: the next invocation tries again.
    """

    def __init__(self, build: Callable[[], Handler]) -> None:
        self._build = build
        self._built: Handler | None = None
        self._lock = threading.Lock()

    def get(self) -> Handler:
        if self._built is None:
            with self._lock:
                if self._built is None:
                    self._built = self._build()
        return self._built

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self.get()(event, context)
