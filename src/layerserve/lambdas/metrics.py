"""Lambda entry points of the metrics function (``functions/metrics/app.py``).

``handler`` folds the CloudWatch Logs subscription of the inference log group
(``layerserve.bootstrap.metrics``); ``schedule_handler`` (an EventBridge schedule)
evaluates every guarded canary and moves its alias through the registry
(``layerserve.bootstrap.guardrails``). Each is wired from ``LAYERSERVE_*`` settings on
its first invocation.
"""

from __future__ import annotations

from layerserve.bootstrap.guardrails import build_guardrails_handler
from layerserve.bootstrap.lazy import LazyHandler
from layerserve.bootstrap.metrics import build_metrics_handler
from layerserve.settings import GuardrailSettings, MetricsSettings

handler = LazyHandler(lambda: build_metrics_handler(MetricsSettings()))
schedule_handler = LazyHandler(lambda: build_guardrails_handler(GuardrailSettings()))
