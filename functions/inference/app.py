"""Inference function entry point: the handler lives in the runtime layer's package.

The default models start loading before the handler's imports run, so the two overlap
during the init phase (see ``layerserve.lambdas.inference_init``).
"""

from layerserve.lambdas.inference_init import start_in_background

start_in_background()

from layerserve.lambdas.inference import handler  # noqa: E402  (after the loading started)

__all__ = ["handler"]
