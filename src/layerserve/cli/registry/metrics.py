"""``layerserve metrics``: per-version requests, errors, latency and outputs over a window."""

from __future__ import annotations

from typing import Annotated

import typer

from layerserve.cli.failures import fail
from layerserve.cli.registry.client import path
from layerserve.cli.registry.commands import Endpoint, Json, _out, _session
from layerserve.cli.registry.metrics_view import show_metrics


def metrics(
    model: str,
    endpoint: Endpoint,
    since: Annotated[
        str | None, typer.Option(help="Window up to now, e.g. 15m, 1h, 1d (default 1h).")
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="Window start, ISO 8601 (UTC unless an offset is given).")
    ] = None,
    end: Annotated[str | None, typer.Option(help="Window end, ISO 8601 (default now).")] = None,
    version: Annotated[str | None, typer.Option("--version", "-v", help="One version.")] = None,
    alias: Annotated[
        str | None,
        typer.Option("--alias", "-a", help="Each version of an alias (default: default alias)."),
    ] = None,
    as_json: Json = False,
) -> None:
    """Requests, error rate, p50/p95/p99, cold starts and outputs of a model's versions."""
    if version is not None and alias is not None:
        fail("choose one of --version and --alias")
    if since is not None and start is not None:
        fail("choose one of --since and --start")
    report = _session(endpoint).get(
        path("models", model, "metrics"),
        version=version,
        alias=alias,
        since=since,
        start=start,
        end=end,
    )
    _out(report, as_json, lambda console: show_metrics(console, report))
