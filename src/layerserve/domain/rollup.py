"""Per-model, per-version, per-minute rollups of metric records, and how they merge.

Every record folds into its version's rollup (all traffic of the version, whoever chose
it: what ``layerserve metrics`` reports). A record whose version an alias chose also
folds into the rollup of that *alias route*: the alias and the alias revision that
routed it. An alias revision is one canary step, so the route rollups of a revision
hold exactly the traffic the alias sent to each side during that step, and nothing a
caller sent to ``/versions/{v}`` directly. Route rollups also keep latency per request
size class (``domain.size_match``) for the guardrails' like-for-like comparison.

A rollup is a commutative monoid: counters add, sketches and histograms merge exactly,
so rollups from any minutes and any execution environments merge into the figures of
any window. ``fold_records`` builds them from records with vectorised sketch updates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from layerserve.domain.drift import count_bins, merge_histograms
from layerserve.domain.metric_record import MetricRecord, TensorSummary
from layerserve.domain.size_match import size_class
from layerserve.domain.sketch import DDSketch

MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True, order=True)
class AliasRoute:
    """The traffic one alias routed at one of its revisions (one canary step)."""

    alias: str
    revision: int

    def __str__(self) -> str:
        return f"{self.alias}@{self.revision}"


@dataclass(frozen=True, slots=True)
class RollupKey:
    model: str
    version: str
    minute: int
    """Epoch minute: ``epoch_ms // 60_000``."""
    route: AliasRoute | None = None
    """``None`` for the version's rollup; else the alias route's share of it."""

    def order(self) -> tuple[str, str, int, str, int]:
        """A total order (version rollups first) for applying deltas in a stable order."""
        alias, revision = ("", 0) if self.route is None else (self.route.alias, self.route.revision)
        return (self.model, self.version, self.minute, alias, revision)


@dataclass(slots=True)
class Rollup:
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    cold_starts: int = 0
    batch_total: int = 0
    latency: DDSketch = field(default_factory=DDSketch)
    run: DDSketch = field(default_factory=DDSketch)
    init: DDSketch = field(default_factory=DDSketch)
    outputs: dict[str, dict[int, int]] = field(default_factory=dict)
    output_elements: dict[str, int] = field(default_factory=dict)
    inputs: dict[str, dict[int, int]] = field(default_factory=dict)
    sized_latency: dict[int, DDSketch] = field(default_factory=dict)
    """Request latency of successful requests per size class (route rollups only), the
    first request for a version in an environment (its session load) left out."""
    sized_run: dict[int, DDSketch] = field(default_factory=dict)
    """``session.run`` latency of successful requests per size class (route rollups only)."""

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def errors_of(self, kinds: Iterable[str]) -> int:
        return sum(self.errors.get(kind, 0) for kind in kinds)

    def merge(self, other: Rollup) -> None:
        """Fold ``other`` into this rollup."""
        self.requests += other.requests
        self.cold_starts += other.cold_starts
        self.batch_total += other.batch_total
        for mine, theirs in (
            (self.errors, other.errors),
            (self.statuses, other.statuses),
            (self.aliases, other.aliases),
            (self.output_elements, other.output_elements),
        ):
            _add_counts(mine, theirs)
        self.latency.merge(other.latency)
        self.run.merge(other.run)
        self.init.merge(other.init)
        for mine_h, theirs_h in ((self.outputs, other.outputs), (self.inputs, other.inputs)):
            for name, histogram in theirs_h.items():
                mine_h[name] = merge_histograms((mine_h.get(name, {}), histogram))
        _merge_sketches(self.sized_latency, other.sized_latency)
        _merge_sketches(self.sized_run, other.sized_run)

    @classmethod
    def merged(cls, rollups: Iterable[Rollup]) -> Rollup:
        total = cls()
        for rollup in rollups:
            total.merge(rollup)
        return total

    def to_dict(self) -> dict[str, Any]:
        sized = {
            key: {str(size): sketch.to_dict() for size, sketch in sketches.items()}
            for key, sketches in (("slat", self.sized_latency), ("srun", self.sized_run))
            if sketches
        }
        return {
            **sized,
            "req": self.requests,
            "err": self.errors,
            "st": self.statuses,
            "al": self.aliases,
            "cold": self.cold_starts,
            "bs": self.batch_total,
            "lat": self.latency.to_dict(),
            "run": self.run.to_dict(),
            "init": self.init.to_dict(),
            "out": {name: _pack(h) for name, h in self.outputs.items()},
            "outn": self.output_elements,
            "in": {name: _pack(h) for name, h in self.inputs.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rollup:
        return cls(
            requests=int(data["req"]),
            errors=dict(data["err"]),
            statuses=dict(data["st"]),
            aliases=dict(data["al"]),
            cold_starts=int(data["cold"]),
            batch_total=int(data["bs"]),
            latency=DDSketch.from_dict(data["lat"]),
            run=DDSketch.from_dict(data["run"]),
            init=DDSketch.from_dict(data["init"]),
            outputs={name: _unpack(h) for name, h in data["out"].items()},
            output_elements=dict(data["outn"]),
            inputs={name: _unpack(h) for name, h in data["in"].items()},
            sized_latency=_sketches(data.get("slat", {})),
            sized_run=_sketches(data.get("srun", {})),
        )


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def route_of(record: MetricRecord) -> AliasRoute | None:
    """The alias route that chose the record's version; ``None`` for a direct request."""
    if record.alias is None or record.alias_revision is None:
        return None  # named its version, or written before records carried the revision
    return AliasRoute(record.alias, record.alias_revision)


def fold_records(records: Iterable[MetricRecord]) -> dict[RollupKey, Rollup]:
    """Fold records into one rollup per (model, version, minute), and per alias route."""
    pending: dict[RollupKey, _Pending] = {}
    for record in records:
        minute = record.time_ms // MINUTE_MS
        route = route_of(record)
        keys = [RollupKey(record.model, record.version, minute)]
        if route is not None:
            keys.append(RollupKey(record.model, record.version, minute, route))
        for key in keys:
            entry = pending.get(key)
            if entry is None:
                entry = pending[key] = _Pending(sized=key.route is not None)
            entry.add(record)
    return {key: entry.finish() for key, entry in pending.items()}


class _Pending:
    """Counters added at once; latencies and bins collected, then added vectorised."""

    __slots__ = ("init", "inputs", "latency", "outputs", "rollup", "run", "sized")

    def __init__(self, sized: bool = False) -> None:
        self.rollup = Rollup()
        self.sized: dict[int, tuple[list[float], list[float]]] | None = {} if sized else None
        self.latency: list[float] = []
        self.run: list[float] = []
        self.init: list[float] = []
        self.outputs: dict[str, list[list[int]]] = {}
        self.inputs: dict[str, list[list[int]]] = {}

    def add(self, record: MetricRecord) -> None:
        rollup = self.rollup
        rollup.requests += 1
        _bump(rollup.statuses, status_class(record.status))
        if record.error_kind is not None:
            _bump(rollup.errors, record.error_kind)
        if record.alias is not None:
            _bump(rollup.aliases, record.alias)
        if record.cold:
            rollup.cold_starts += 1
        rollup.batch_total += record.batch_size or 0
        self.latency.append(record.latency_ms)
        if record.run_ms is not None:
            self.run.append(record.run_ms)
        if record.init_ms is not None:
            self.init.append(record.init_ms)
        _collect(self.outputs, record.outputs, rollup.output_elements)
        _collect(self.inputs, record.inputs, None)
        if self.sized is not None and record.input_elements is not None and _comparable(record):
            latency, run = self.sized.setdefault(size_class(record.input_elements), ([], []))
            latency.append(record.latency_ms)
            if record.run_ms is not None:
                run.append(record.run_ms)

    def finish(self) -> Rollup:
        rollup = self.rollup
        rollup.latency.add_many(self.latency)
        rollup.run.add_many(self.run)
        rollup.init.add_many(self.init)
        rollup.outputs = {name: _count(bins) for name, bins in self.outputs.items()}
        rollup.inputs = {name: _count(bins) for name, bins in self.inputs.items()}
        for size, (latency, run) in (self.sized or {}).items():
            rollup.sized_latency[size] = _sketch(latency)
            if run:
                rollup.sized_run[size] = _sketch(run)
        return rollup


def _comparable(record: MetricRecord) -> bool:
    """Latency worth comparing: served, and not the request that loaded the session."""
    return record.error_kind is None and not record.first_use


def _sketch(values: list[float]) -> DDSketch:
    sketch = DDSketch()
    sketch.add_many(values)
    return sketch


def _merge_sketches(into: dict[int, DDSketch], other: Mapping[int, DDSketch]) -> None:
    for size, sketch in other.items():
        if size in into:
            into[size].merge(sketch)
        else:
            into[size] = sketch.copy()


def _sketches(data: Mapping[str, Mapping[str, Any]]) -> dict[int, DDSketch]:
    return {int(size): DDSketch.from_dict(sketch) for size, sketch in data.items()}


def _collect(
    into: dict[str, list[list[int]]],
    summaries: Mapping[str, TensorSummary],
    elements: dict[str, int] | None,
) -> None:
    for name, summary in summaries.items():
        into.setdefault(name, []).append(summary.b)
        if elements is not None:
            elements[name] = elements.get(name, 0) + summary.n


def _count(bins: list[list[int]]) -> dict[int, int]:
    flat = [b for chunk in bins for b in chunk]
    return count_bins(np.asarray(flat, dtype=np.int64)) if flat else {}


def _bump(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def _add_counts(into: dict[str, int], other: Mapping[str, int]) -> None:
    for key, count in other.items():
        into[key] = into.get(key, 0) + count


def _pack(histogram: Mapping[int, int]) -> dict[str, list[int]]:
    bins = sorted(histogram)
    return {"b": bins, "c": [histogram[b] for b in bins]}


def _unpack(packed: Mapping[str, list[int]]) -> dict[int, int]:
    return dict(zip(packed["b"], packed["c"], strict=True))
