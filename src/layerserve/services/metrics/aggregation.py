"""Fold delivered log events into per-minute rollups, exactly once per event.

Each record lands in its version's rollup and, when an alias chose the version, in the
rollup of that alias route (alias and revision: ``domain.rollup``).

A delivery (one CloudWatch Logs subscription batch) is identified by a hash of its log
event ids. The store records, per rollup item, the ids of the deliveries folded into it
and applies a delta with a conditional write, so a redelivered batch (or a retry after
a partial failure) changes nothing it already changed, and concurrent folds never lose
an update. Malformed records are counted and skipped, never retried forever.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from layerserve.domain.errors import MetricRecordError
from layerserve.domain.metric_record import MetricRecord, parse_record
from layerserve.domain.rollup import AliasRoute, Rollup, RollupKey, fold_records

MAX_REPORTED_PROBLEMS = 5


@dataclass(frozen=True, slots=True)
class LogEvent:
    id: str
    timestamp: int
    message: str


class RollupReader(Protocol):
    def read(
        self, model: str, version: str, first_minute: int, last_minute: int
    ) -> list[tuple[int, Rollup]]:
        """Stored rollups of ``first_minute..last_minute`` (epoch minutes), oldest first."""
        ...

    def read_route(self, model: str, route: AliasRoute, version: str) -> list[tuple[int, Rollup]]:
        """Every stored minute of what ``route`` sent to ``version``, oldest first."""
        ...


class RollupWriter(Protocol):
    def apply(self, key: RollupKey, delta: Rollup, delivery_id: str) -> bool:
        """Merge ``delta`` into the rollup at ``key`` unless ``delivery_id`` was folded
        there already; ``True`` when it was applied, ``False`` for a duplicate."""
        ...


class RollupStore(RollupReader, RollupWriter, Protocol):
    """Where the metrics function folds records and the guardrails read them."""


@dataclass(slots=True)
class FoldReport:
    delivery_id: str
    events: int = 0
    records: int = 0
    ignored: int = 0
    invalid: int = 0
    applied: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)


def delivery_id(events: Sequence[LogEvent]) -> str:
    """Identity of a delivery: a hash of its sorted log event ids."""
    digest = hashlib.blake2b(digest_size=12)
    for event_id in sorted(event.id for event in events):
        digest.update(event_id.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def fold_events(events: Sequence[LogEvent], store: RollupWriter) -> FoldReport:
    """Parse the metric records among ``events`` and fold them into the store."""
    report = FoldReport(delivery_id=delivery_id(events), events=len(events))
    deltas = fold_records(_records(events, report))
    for key in sorted(deltas, key=RollupKey.order):
        if store.apply(key, deltas[key], report.delivery_id):
            report.applied += 1
        else:
            report.duplicates += 1
    return report


def _records(events: Sequence[LogEvent], report: FoldReport) -> Iterator[MetricRecord]:
    for event in events:
        try:
            record = parse_record(event.message)
        except MetricRecordError as exc:
            report.invalid += 1
            if len(report.problems) < MAX_REPORTED_PROBLEMS:
                report.problems.append(f"log event {event.id}: {exc.message}")
            continue
        if record is None:
            report.ignored += 1
            continue
        report.records += 1
        yield record
