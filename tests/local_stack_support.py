"""``LocalStack`` in a test: cached handlers and the environment restored afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from layerserve.local.stack import LocalStack, StackOptions


@contextmanager
def local_stack(options: StackOptions) -> Iterator[LocalStack]:
    """A stack to ``start()``; stopped, and its handlers and environment forgotten, on exit."""
    from layerserve.lambdas import inference

    saved = dict(os.environ)
    sink = inference.record_sink
    inference.asgi_adapter.cache_clear()
    stack = LocalStack(options)
    try:
        yield stack
    finally:
        if stack.endpoint is not None:  # the emulator's state is process-wide
            httpx.post(f"{stack.endpoint}/moto-api/reset", timeout=30)
        stack.stop()
        inference.record_sink = sink
        inference.asgi_adapter.cache_clear()
        os.environ.clear()
        os.environ.update(saved)
