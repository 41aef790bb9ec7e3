"""Inference function entry point: the handler lives in the runtime layer's package.

The init phase (this import) is part of every cold start, so it is arranged for speed:
the cyclic garbage collector pauses while ~100k long-lived objects are created (its
passes over them cost tens of milliseconds and free nothing), and the default models
start loading before the web stack is imported, so the two overlap (see
``layerserve.bootstrap.inference_init``); the handler is then built over that init phase
(``layerserve.bootstrap.inference``) and its first call waits for the loading. The objects
of the init phase are then frozen: later collections skip them. With SnapStart the
runtime then calls the hooks registered here (``layerserve.lambdas.inference_snapstart``):
priming before the snapshot, uniqueness after each restore.
"""

import gc

gc.disable()

from layerserve.bootstrap.inference_init import start_in_background  # noqa: E402

init = start_in_background()  # None if it cannot start: the first request says why

from layerserve.bootstrap.inference import entry_point  # noqa: E402  (after the loading started)
from layerserve.lambdas.inference_snapstart import register  # noqa: E402

inference = entry_point(init)
handler = inference.handler
register(inference.function)
gc.freeze()
gc.enable()

__all__ = ["handler", "inference", "init"]
