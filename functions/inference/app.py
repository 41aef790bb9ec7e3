"""Inference function entry point: the handler lives in the runtime layer's package.

The init phase (this import) is part of every cold start, so it is arranged for speed:
the cyclic garbage collector pauses while ~100k long-lived objects are created (its
passes over them cost tens of milliseconds and free nothing), and the default models
start loading before the handler's imports run, so the two overlap (see
``layerserve.lambdas.inference_init``). The objects of the init phase are then frozen:
later collections skip them. With SnapStart the runtime then calls the hooks registered
here (``layerserve.lambdas.inference_snapstart``): priming before the snapshot, uniqueness
after each restore.
"""

import gc

gc.disable()

from layerserve.lambdas.inference_init import start_in_background  # noqa: E402

start_in_background()

from layerserve.lambdas.inference import handler  # noqa: E402  (after the loading started)
from layerserve.lambdas.inference_snapstart import register  # noqa: E402

register()
gc.freeze()
gc.enable()

__all__ = ["handler"]
