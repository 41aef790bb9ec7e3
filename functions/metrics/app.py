"""Metrics function entry points: the handlers live in the runtime layer's package.

``handler`` folds the inference log subscription; ``schedule_handler`` runs the guardrails.
"""

from layerserve.lambdas.metrics import handler, schedule_handler

__all__ = ["handler", "schedule_handler"]
