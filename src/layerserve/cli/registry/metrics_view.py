"""The ``layerserve metrics`` view: a table per version, output distributions, sparklines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from layerserve.cli.registry.charts import minute_columns, p99_line, requests_line
from layerserve.cli.registry.render import canary_text

Doc = dict[str, Any]


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _when(raw: str) -> str:
    return raw.replace("T", " ")[:16]


def summary_table(report: Doc) -> Table:
    table = Table("version", "weight", "requests", "errors", "error rate", "p50 ms", "p95 ms",
                  "p99 ms", "cold starts", title="requests", title_justify="left")  # fmt: skip
    weights = report.get("weights") or {}
    for summary in report["versions"]:
        latency = summary["latency_ms"]
        errors = ", ".join(f"{kind} {count}" for kind, count in sorted(summary["errors"].items()))
        weight = weights.get(summary["version"])
        table.add_row(
            summary["version"],
            "—" if weight is None else f"{weight}%",
            f"{summary['requests']:,}",
            errors or "0",
            f"{summary['error_rate']:.2%}",
            _ms(latency["p50"]),
            _ms(latency["p95"]),
            _ms(latency["p99"]),
            str(summary["cold_starts"]),
        )
    return table


def outputs_table(report: Doc) -> Table:
    table = Table("version", "output", "values", "sampled", "mean", "p05", "p50", "p95",
                  title="output distribution", title_justify="left")  # fmt: skip
    for summary in report["versions"]:
        for name, dist in summary["outputs"].items():
            table.add_row(
                summary["version"],
                name,
                f"{dist['elements']:,}",
                f"{dist['sampled']:,}",
                _num(dist["mean"]),
                _num(dist["p05"]),
                _num(dist["p50"]),
                _num(dist["p95"]),
            )
    return table


def charts(report: Doc) -> list[str]:
    """Two sparklines per version over the window: requests and p99 latency per minute."""
    start, end = datetime.fromisoformat(report["start"]), datetime.fromisoformat(report["end"])
    _, per_column, _ = minute_columns(start, end)
    unit = "minute" if per_column == 1 else f"{per_column} minutes"
    lines = [f"per {unit}, {_when(report['start'])} → {_when(report['end'])} UTC"]
    for summary in report["versions"]:
        series = summary["series"]
        peak = max((point["requests"] for point in series), default=0)
        worst = max((p["p99_ms"] for p in series if p["p99_ms"] is not None), default=None)
        lines.append(
            f"{summary['version']:>8}  requests │{requests_line(series, start, end)}│ max {peak}"
        )
        lines.append(f"{'':>8}  p99 ms   │{p99_line(series, start, end)}│ max {_ms(worst)}")
    return lines


def routed_line(report: Doc) -> str | None:
    """What the alias sent to each version at its current revision (the judged step)."""
    if not report.get("routed"):
        return None
    parts = [
        f"{r['version']}: {r['requests']:,} requests, {r['errors']} errors, "
        f"{r['rejected']} rejected"
        for r in report["routed"]
    ]
    return f"routed at {report['judged']} (what the guardrails judge): " + "; ".join(parts)


def show_metrics(console: Console, report: Doc) -> None:
    versions = ", ".join(summary["version"] for summary in report["versions"])
    target = f"alias {report['alias']}" if report.get("alias") else f"version {versions}"
    console.print(f"[bold]{report['model']}[/] {target}")
    if report.get("canary"):
        console.print(canary_text(report["canary"]))
    console.print(summary_table(report))
    routed = routed_line(report)
    if routed is not None:
        console.print(routed, highlight=False, soft_wrap=True)
    if any(summary["outputs"] for summary in report["versions"]):
        console.print(outputs_table(report))
    for line in charts(report):
        console.print(line, highlight=False, soft_wrap=True)
