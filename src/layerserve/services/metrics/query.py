"""Per-version metrics over a time window, answered from the stored minute rollups, and
what one alias route sent to a version (the traffic the guardrails judge)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from layerserve.domain.drift import (
    TOP_BIN,
    bin_bounds,
    histogram_mean,
    histogram_quantile,
)
from layerserve.domain.rollup import MINUTE_MS, AliasRoute, Rollup
from layerserve.domain.sketch import DDSketch
from layerserve.services.metrics.aggregation import RollupReader


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Percentiles(_Frozen):
    p50: float | None
    p95: float | None
    p99: float | None

    @classmethod
    def of(cls, sketch: DDSketch) -> Percentiles:
        return cls(p50=sketch.quantile(0.5), p95=sketch.quantile(0.95), p99=sketch.quantile(0.99))


class HistogramBin(_Frozen):
    low: float
    high: float
    count: int


class OutputDistribution(_Frozen):
    elements: int
    """Values the model produced; ``sampled`` of them were binned."""
    sampled: int
    non_finite: int
    mean: float | None
    p05: float | None
    p50: float | None
    p95: float | None
    bins: list[HistogramBin]


class MinutePoint(_Frozen):
    minute: datetime
    requests: int
    errors: int
    p99_ms: float | None


class MetricsSummary(_Frozen):
    model: str
    version: str
    start: datetime
    end: datetime
    requests: int
    errors: dict[str, int]
    error_rate: float
    statuses: dict[str, int]
    aliases: dict[str, int]
    cold_starts: int
    init_ms: Percentiles
    latency_ms: Percentiles
    run_ms: Percentiles
    mean_batch_size: float | None
    outputs: dict[str, OutputDistribution]
    series: list[MinutePoint]


def epoch_minute(moment: datetime) -> int:
    return int(moment.timestamp() * 1000) // MINUTE_MS


def minute_start(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=UTC)


def window_rollup(
    reader: RollupReader, model: str, version: str, start: datetime, end: datetime
) -> Rollup:
    """All rollups of the minutes that ``[start, end]`` touches, merged."""
    minutes = reader.read(model, version, epoch_minute(start), epoch_minute(end))
    return Rollup.merged(rollup for _, rollup in minutes)


def route_rollup(reader: RollupReader, model: str, route: AliasRoute, version: str) -> Rollup:
    """Everything ``route`` (an alias at one revision) sent to ``version``, merged."""
    return Rollup.merged(rollup for _, rollup in reader.read_route(model, route, version))


def metrics_summary(
    reader: RollupReader, model: str, version: str, start: datetime, end: datetime
) -> MetricsSummary:
    """Requests, errors, latency percentiles, cold starts and outputs of one version."""
    minutes = reader.read(model, version, epoch_minute(start), epoch_minute(end))
    total = Rollup.merged(rollup for _, rollup in minutes)
    return MetricsSummary(
        model=model,
        version=version,
        start=start,
        end=end,
        requests=total.requests,
        errors=total.errors,
        error_rate=total.error_count / total.requests if total.requests else 0.0,
        statuses=total.statuses,
        aliases=total.aliases,
        cold_starts=total.cold_starts,
        init_ms=Percentiles.of(total.init),
        latency_ms=Percentiles.of(total.latency),
        run_ms=Percentiles.of(total.run),
        mean_batch_size=total.batch_total / total.requests if total.requests else None,
        outputs={name: _distribution(total, name) for name in sorted(total.outputs)},
        series=[
            MinutePoint(
                minute=minute_start(minute),
                requests=rollup.requests,
                errors=rollup.error_count,
                p99_ms=rollup.latency.quantile(0.99),
            )
            for minute, rollup in minutes
        ],
    )


def _distribution(total: Rollup, name: str) -> OutputDistribution:
    histogram = total.outputs[name]
    return OutputDistribution(
        elements=total.output_elements.get(name, 0),
        sampled=sum(histogram.values()),
        non_finite=histogram.get(0, 0) + histogram.get(TOP_BIN, 0),
        mean=histogram_mean(histogram),
        p05=histogram_quantile(histogram, 0.05),
        p50=histogram_quantile(histogram, 0.5),
        p95=histogram_quantile(histogram, 0.95),
        bins=[
            HistogramBin(low=low, high=high, count=histogram[b])
            for b in sorted(histogram)
            for low, high in (bin_bounds(b),)
        ],
    )
