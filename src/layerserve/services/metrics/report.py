"""Metrics of a model over a time window: one version, or every version an alias routes to.

For an alias the report also gives what the alias routed to each version at its current
revision (the current canary step): the traffic the guardrails judge.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from pydantic import BaseModel, ConfigDict

from layerserve.domain.durations import parse_duration
from layerserve.domain.errors import InvalidInputError
from layerserve.domain.registry import CanaryPlan
from layerserve.domain.rollup import AliasRoute, Rollup
from layerserve.services.metrics.aggregation import RollupReader
from layerserve.services.metrics.query import MetricsSummary, metrics_summary, route_rollup
from layerserve.services.registry import RegistryService

DEFAULT_SINCE: Final = "1h"
MAX_WINDOW: Final = timedelta(days=7)


class Window(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime


class RoutedCounts(BaseModel):
    """What one alias revision sent to one version, over all of that revision's life."""

    model_config = ConfigDict(frozen=True)

    version: str
    requests: int
    rejected: int
    """Requests rejected as the caller's fault (4xx)."""
    errors: int
    """Server and model errors."""

    @classmethod
    def of(cls, version: str, rollup: Rollup) -> RoutedCounts:
        rejected = rollup.errors.get("client", 0)
        errors = rollup.error_count - rejected
        return cls(version=version, requests=rollup.requests, rejected=rejected, errors=errors)


class MetricsReport(BaseModel):
    """``versions`` holds one summary per version; ``weights`` their share of the alias;
    ``routed`` what the alias sent to each at revision ``judged`` (``"alias@revision"``)."""

    model_config = ConfigDict(frozen=True)

    model: str
    alias: str | None
    start: datetime
    end: datetime
    weights: dict[str, int]
    canary: CanaryPlan | None
    versions: list[MetricsSummary]
    judged: str | None = None
    routed: list[RoutedCounts] = []


def metrics_window(
    now: datetime,
    since: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Window:
    """``[now - since, now]``, or ``[start, end or now]``; naive times are UTC."""
    if since is not None and start is not None:
        raise InvalidInputError("give either 'since' or 'start', not both")
    last = _utc(end) if end is not None else now
    try:
        first = _utc(start) if start is not None else last - parse_duration(since or DEFAULT_SINCE)
    except OverflowError:
        raise InvalidInputError("the window reaches before the year 1") from None
    if first >= last:
        raise InvalidInputError(f"the window is empty: start {first} is not before end {last}")
    if last - first > MAX_WINDOW:
        raise InvalidInputError(f"the window is longer than {MAX_WINDOW.days} days")
    return Window(start=first, end=last)


def model_metrics(
    registry: RegistryService,
    rollups: RollupReader,
    model: str,
    window: Window,
    *,
    version: str | None = None,
    alias: str | None = None,
) -> MetricsReport:
    """One version's metrics, or those of each version behind ``alias`` (default alias)."""
    if version is not None and alias is not None:
        raise InvalidInputError("give either 'version' or 'alias', not both")
    weights: dict[str, int] = {}
    plan = None
    route: AliasRoute | None = None
    if version is not None:
        versions = [registry.versions.get(model, version).version]
    else:
        alias = alias or registry.models.get(model).default_alias
        found = registry.aliases.get(model, alias)
        versions = [route.version for route in found.routes]
        weights = {route.version: route.weight for route in found.routes}
        plan = found.canary
        route = AliasRoute(found.name, found.revision)
    summaries = [
        metrics_summary(rollups, model, each, window.start, window.end) for each in versions
    ]
    return MetricsReport(
        model=model,
        alias=alias,
        start=window.start,
        end=window.end,
        weights=weights,
        canary=plan,
        versions=summaries,
        judged=None if route is None else str(route),
        routed=[]
        if route is None
        else [
            RoutedCounts.of(each, route_rollup(rollups, model, route, each)) for each in versions
        ],
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
