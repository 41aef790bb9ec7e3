"""Batch inference function entry point: the handler lives in the runtime layer's package."""

from layerserve.lambdas.batch.handler import handler

__all__ = ["handler"]
