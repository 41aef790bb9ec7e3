"""Per-request metric record lines in the function's log (what the aggregator folds).

One ``write`` per request on the hot path: no logger formatting, no extra copies. The
first request an execution environment serves is its cold start.

With ``LAYERSERVE_METRICS_FORMAT=line`` the record is also a CloudWatch Embedded Metric
Format document: the ``_aws`` block tells CloudWatch to extract the per-request metrics
(``services.telemetry.METRIC_NAMES``) with dimensions model, version, alias and service,
the same metrics and dimensions Powertools Metrics publishes by default. One ``orjson``
line then replaces Powertools' per-request ``add_metric`` calls and second log line
(bench/README.md measures the difference); Powertools Metrics keeps the
once-per-environment metrics (ColdStart, InitTime). A request whose name resolves to no
version then leaves no record, only EMF with model and version ``-``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from layerserve.domain.metric_record import build_record, record_to_json
from layerserve.services.telemetry import ErrorKind, RequestOutcome, error_metric

UNRESOLVED = "-"
DIMENSIONS = ("model", "version", "alias", "service")


def stdout_line(line: bytes) -> None:
    sys.stdout.write(line.decode() + "\n")


@dataclass(frozen=True, slots=True)
class EmfSpec:
    """Where CloudWatch files the metrics: namespace and the ``service`` dimension."""

    namespace: str
    service: str


class EmfDirectives:
    """The ``_aws`` metric directives, one prebuilt list per combination of metrics."""

    def __init__(self, spec: EmfSpec) -> None:
        self._spec = spec
        self._cache: dict[tuple[bool, bool, ErrorKind | None], list[dict[str, Any]]] = {}

    def fields(self, outcome: RequestOutcome, time_ms: int) -> dict[str, Any]:
        """The EMF members of a line: ``_aws``, dimension values and metric values."""
        resolved = outcome.model is not None and outcome.version is not None
        values: dict[str, Any] = {
            "_aws": {"Timestamp": time_ms, "CloudWatchMetrics": self._directives(outcome)},
            "model": outcome.model if resolved else UNRESOLVED,
            "version": outcome.version or UNRESOLVED,
            "alias": outcome.alias or UNRESOLVED,
            "service": self._spec.service,
            "Requests": 1,
            "Latency": outcome.latency_s * 1000.0,
        }
        if outcome.run_s is not None:
            values["RunLatency"] = outcome.run_s * 1000.0
        if outcome.batch_size is not None:
            values["BatchSize"] = outcome.batch_size
        if outcome.error_kind is not None:
            values["Errors"] = 1
            values[error_metric(outcome.error_kind)] = 1
        return values

    def _directives(self, outcome: RequestOutcome) -> list[dict[str, Any]]:
        key = (outcome.run_s is not None, outcome.batch_size is not None, outcome.error_kind)
        directives = self._cache.get(key)
        if directives is None:
            directives = self._cache[key] = self._build(*key)
        return directives

    def _build(
        self, has_run: bool, has_batch: bool, kind: ErrorKind | None
    ) -> list[dict[str, Any]]:
        metrics = [("Requests", "Count"), ("Latency", "Milliseconds")]
        if has_run:
            metrics.append(("RunLatency", "Milliseconds"))
        if has_batch:
            metrics.append(("BatchSize", "Count"))
        if kind is not None:
            metrics += [("Errors", "Count"), (error_metric(kind), "Count")]
        return [
            {
                "Namespace": self._spec.namespace,
                "Dimensions": [list(DIMENSIONS)],
                "Metrics": [{"Name": name, "Unit": unit} for name, unit in metrics],
            }
        ]


class MetricRecordObserver:
    """Writes each request's line; the first request of an environment is its cold start.

    The first successful request for each version in an environment is marked
    ``first_use``: it paid for loading the version's session (unless it was primed), so
    the guardrails leave it out of the latency comparison.
    """

    def __init__(
        self,
        init_ms: float | None = None,
        sink: Callable[[bytes], None] = stdout_line,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        emf: EmfSpec | None = None,
    ) -> None:
        self._init_ms = init_ms
        self._sink = sink
        self._clock_ms = clock_ms
        self._emf = EmfDirectives(emf) if emf is not None else None
        self._cold = True
        self._served: set[tuple[str, str]] = set()

    def restart(self, init_ms: float) -> None:
        """The environment's next request is its cold start, after ``init_ms`` of init
        (its init phase, or a restore from a snapshot)."""
        self._init_ms = init_ms
        self._cold = True

    def observe(self, outcome: RequestOutcome) -> None:
        time_ms = self._clock_ms()
        line = self._record(outcome, time_ms)
        if self._emf is not None:
            line.update(self._emf.fields(outcome, time_ms))
        if line:
            self._sink(record_to_json(line))

    def _record(self, outcome: RequestOutcome, time_ms: int) -> dict[str, Any]:
        if outcome.model is None or outcome.version is None:
            return {}  # nothing to attribute: the name did not resolve to a version
        cold, self._cold = self._cold, False
        served = (outcome.model, outcome.version)
        first_use = outcome.error_kind is None and served not in self._served
        if first_use:
            self._served.add(served)
        return build_record(
            time_ms=time_ms,
            request_id=outcome.request_id or "",
            model=outcome.model,
            version=outcome.version,
            alias=outcome.alias,
            alias_revision=outcome.alias_revision if outcome.alias is not None else None,
            status=outcome.status,
            error_kind=outcome.error_kind,
            latency_ms=outcome.latency_s * 1000.0,
            run_ms=None if outcome.run_s is None else outcome.run_s * 1000.0,
            batch_size=outcome.batch_size,
            input_elements=outcome.input_elements,
            cold=cold,
            first_use=first_use,
            init_ms=self._init_ms if cold else None,
            outputs=outcome.outputs,
        )
