"""``LocalStack`` in a test: the emulator reset and the environment (the emulator's
credentials) restored afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from layerserve.local.stack import LocalStack, StackOptions


@contextmanager
def local_stack(options: StackOptions) -> Iterator[LocalStack]:
    """A stack to ``start()``; stopped, its emulator state and environment forgotten, on exit."""
    saved = dict(os.environ)
    stack = LocalStack(options)
    try:
        yield stack
    finally:
        if stack.endpoint is not None:  # the emulator's state is process-wide
            httpx.post(f"{stack.endpoint}/moto-api/reset", timeout=30)
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)
