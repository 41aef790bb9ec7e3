"""Registry function entry point: the handler lives in the runtime layer's package."""

from layerserve.lambdas.registry import handler

__all__ = ["handler"]
