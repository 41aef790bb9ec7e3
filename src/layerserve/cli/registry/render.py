"""Human-friendly views of registry answers (plain JSON documents from the API)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from layerserve.domain.durations import format_duration
from layerserve.services.packaging.budget import mb

Doc = dict[str, Any]
_STATUS_STYLE = {"ready": "green", "registered": "yellow", "failed": "red", "archived": "dim"}


def routes_text(routes: list[Doc]) -> str:
    return " · ".join(f"{r['version']} ({r['weight']}%)" for r in routes) or "—"


def _when(raw: str) -> str:
    return raw.replace("T", " ")[:19]


def canary_text(plan: Doc) -> str:
    """A guarded canary's plan in one line."""
    policy = plan["policy"]
    steps = " → ".join(f"{step}%" for step in policy["steps"])
    return (
        f"guarded canary {plan['version']} (stable {plan['stable_version']}): steps {steps}, "
        f"bake {format_duration(policy['bake_seconds'])}, "
        f"min {policy['min_samples']} samples, step started {_when(plan['step_started_at'])}"
    )


def rollback_target(alias: Doc) -> str:
    """Where a rollback sends the traffic: a guarded canary's stable version, else back."""
    plan = alias.get("canary")
    if plan:
        return f"{plan['stable_version']} (100%)"
    return routes_text(alias.get("previous_routes") or [])


def alias_line(alias: Doc) -> str:
    plan = alias.get("canary")
    guarded = f"; {canary_text(plan)}" if plan else ""
    return (
        f"{alias['model']}/{alias['name']} is at revision {alias['revision']}: "
        f"{routes_text(alias['routes'])}; rollback target: {rollback_target(alias)}{guarded}"
    )


def version_line(version: Doc) -> str:
    reason = f" ({version['status_reason']})" if version.get("status_reason") else ""
    return (
        f"{version['model']} version {version['version']} is {version['status']}{reason} "
        f"at {version['location']}"
    )


def aliases_table(aliases: list[Doc]) -> Table:
    table = Table("alias", "rev", "routes", "rollback target", "updated by", "updated at",
                  title="aliases", title_justify="left")  # fmt: skip
    for alias in aliases:
        table.add_row(
            alias["name"],
            str(alias["revision"]),
            routes_text(alias["routes"]),
            rollback_target(alias),
            alias["updated_by"],
            _when(alias["updated_at"]),
        )
    return table


def versions_table(versions: list[Doc]) -> Table:
    table = Table("version", "status", "location", "sha256", "size", "used by", "created",
                  title="versions", title_justify="left")  # fmt: skip
    for version in versions:
        artifact = version["manifest"]["artifact"]
        style = _STATUS_STYLE.get(version["status"], "")
        table.add_row(
            version["version"],
            f"[{style}]{version['status']}[/]" if style else version["status"],
            version["location"],
            artifact["sha256"][:12],
            mb(artifact["size"]),
            ", ".join(version.get("aliases") or []) or "—",
            _when(version["created_at"]),
        )
    return table


def show_status(console: Console, status: Doc) -> None:
    model = status["model"]
    console.print(f"[bold]{model['name']}[/] (default alias: {model['default_alias']})")
    console.print(aliases_table(status["aliases"]))
    for alias in status["aliases"]:
        if alias.get("canary"):
            console.print(f"{alias['name']}: {canary_text(alias['canary'])}")
    console.print(versions_table(status["versions"]))


def show_models(console: Console, models: list[Doc]) -> None:
    table = Table("model", "default alias", "description", "created")
    for model in models:
        table.add_row(
            model["name"], model["default_alias"], model["description"], _when(model["created_at"])
        )
    console.print(table)


def _change(entry: Doc) -> str:
    before, after = entry.get("before") or {}, entry.get("after") or {}
    if "routes" in after:
        old = [{"version": v, "weight": w} for v, w in before.get("routes", [])]
        new = [{"version": v, "weight": w} for v, w in after["routes"]]
        return f"{routes_text(old)} → {routes_text(new)} (rev {after.get('revision')})"
    if "status" in after:
        return f"{before.get('status', '—')} → {after['status']}"
    return ", ".join(f"{key}={value}" for key, value in after.items())


def show_history(console: Console, page: Doc) -> None:
    table = Table("when", "who", "action", "target", "change", "why")
    for entry in page["entries"]:
        table.add_row(
            _when(entry["at"]),
            entry["actor"],
            entry["action"],
            entry["target"],
            _change(entry),
            entry["reason"],
        )
    console.print(table)
    if page.get("next_cursor"):
        console.print(f"older entries: --cursor {page['next_cursor']}")
