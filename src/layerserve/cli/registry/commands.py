"""Deployer commands: register, promote, canary, rollback, archive, status, history."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import boto3
import orjson
import typer
from pydantic import ValidationError
from rich.console import Console

from layerserve.adapters.s3_artifacts import S3Artifacts
from layerserve.cli.failures import describe, fail
from layerserve.cli.registry import render
from layerserve.cli.registry.client import RegistryClient, path
from layerserve.cli.registry.policy import policy_body
from layerserve.domain.errors import LayerserveError, ServiceUnavailableError
from layerserve.domain.layout import ARTIFACT_FILE, MANIFEST_FILE, layer_location, upload_keys
from layerserve.domain.manifest import Manifest
from layerserve.domain.registry import S3Uri

Endpoint = Annotated[
    str,
    typer.Option(
        "--endpoint",
        envvar="LAYERSERVE_ENDPOINT",
        help="Base URL of the registry API (the stack's output, or the local stack).",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer, for scripts.")]
AliasOpt = Annotated[
    str | None,
    typer.Option("--alias", "-a", help="Alias to move (default: the model's default alias)."),
]
Revision = Annotated[
    int | None, typer.Option("--revision", help="Refuse unless the alias is at this revision.")
]
Force = Annotated[bool, typer.Option("--force", help="Allow an incompatible signature.")]
Reason = Annotated[str, typer.Option("--reason", "-m", help="Why: kept in the history.")]


def _session(endpoint: str) -> RegistryClient:
    """A client for ``endpoint``; every failure of a command becomes one line (``failures``)."""
    return RegistryClient.from_environment(endpoint)


def _out(document: Any, as_json: bool, show: Callable[[Console], None]) -> None:
    if as_json:
        typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
    else:
        show(Console(highlight=False))


def _alias(client: RegistryClient, model: str, alias: str | None) -> str:
    return alias or str(client.get(path("models", model))["model"]["default_alias"])


def _existing_alias(client: RegistryClient, model: str, alias: str | None) -> str:
    """The alias to split (``alias`` or the default one), which must already route traffic."""
    found = client.get(path("models", model))
    name = alias or str(found["model"]["default_alias"])
    if not any(existing["name"] == name for existing in found["aliases"]):
        fail(
            f"model '{model}' has no alias '{name}' yet, so there is no stable version to "
            f"canary against: run `layerserve promote {model} VERSION` first"
        )
    return name


def _move(endpoint: str, model: str, alias: str | None, action: str, body: dict[str, Any],
          as_json: bool) -> None:  # fmt: skip
    client = _session(endpoint)
    name = (_existing_alias if action == "canary" else _alias)(client, model, alias)
    moved = client.post(path("models", model, "aliases", name, action), body)
    _out(moved, as_json, lambda console: console.print(render.alias_line(moved)))


def register(
    folder: Annotated[
        Path, typer.Argument(help="A packaged version: <layer>/models/<name>/<version>.")
    ],
    endpoint: Endpoint,
    layer: Annotated[
        bool, typer.Option("--layer", help="Served from the layer (default).")
    ] = False,
    s3: Annotated[bool, typer.Option("--s3", help="Upload to the artifacts bucket first.")] = False,
    bucket: Annotated[
        str | None,
        typer.Option(
            envvar="LAYERSERVE_ARTIFACTS_BUCKET", help="Artifacts bucket (default: the registry's)."
        ),
    ] = None,
    reason: Reason = "",
    as_json: Json = False,
) -> None:
    """Register a packaged version, from the layer path or uploaded to S3."""
    if layer and s3:
        fail("choose one of --layer and --s3")
    manifest = _read_manifest(folder)
    client = _session(endpoint)
    location = layer_location(manifest.name, manifest.version)
    if s3:
        location = _upload(folder, manifest, bucket or client.get(path("info"))["artifacts_bucket"])
    body = {
        "manifest": manifest.model_dump(mode="json"),
        "location": location,
        "reason": reason,
    }
    version = client.post(path("models", manifest.name, "versions"), body)
    _out(version, as_json, lambda console: console.print(render.version_line(version)))


def _read_manifest(folder: Path) -> Manifest:
    try:
        return Manifest.from_json((folder / MANIFEST_FILE).read_bytes())
    except OSError as exc:
        fail(f"{folder} is not a packaged version: {exc.strerror or exc}")
    except ValidationError as exc:
        fail(f"{folder / MANIFEST_FILE} is not a valid manifest: {exc.errors()[0]['msg']}")


def _upload(folder: Path, manifest: Manifest, bucket: str | None) -> str:
    if not bucket:
        fail("the registry has no artifacts bucket: pass --bucket or use --layer")
    if not (folder / ARTIFACT_FILE).is_file():
        fail(f"{folder} has no {ARTIFACT_FILE} to upload")
    artifact_key, manifest_key = upload_keys(manifest.name, manifest.version)
    artifacts = S3Artifacts(boto3.client("s3"))
    artifact_uri = str(S3Uri(bucket, artifact_key))
    try:
        artifacts.upload(folder / ARTIFACT_FILE, artifact_uri)
        artifacts.upload(folder / MANIFEST_FILE, str(S3Uri(bucket, manifest_key)))
    except ServiceUnavailableError as exc:
        cause = exc.__cause__ or exc
        fail(f"cannot upload {folder} to s3://{bucket}: {describe(cause)} (check --bucket)")
    return artifact_uri


def promote(
    model: str,
    version: str,
    endpoint: Endpoint,
    alias: AliasOpt = None,
    revision: Revision = None,
    force: Force = False,
    reason: Reason = "",
    as_json: Json = False,
) -> None:
    """Send all of an alias's traffic to VERSION (the old routes become the rollback target)."""
    body = {"version": version, "expected_revision": revision, "force": force, "reason": reason}
    _move(endpoint, model, alias, "promote", body, as_json)


def canary(
    model: str,
    version: str,
    endpoint: Endpoint,
    weight: Annotated[int, typer.Option("--weight", "-w", min=1, max=99, help="Percent.")],
    alias: AliasOpt = None,
    revision: Revision = None,
    force: Force = False,
    reason: Reason = "",
    guard: Annotated[
        bool,
        typer.Option(
            "--guard",
            help="Let the guardrails advance, complete or roll back the canary "
            "(implied by any option below; unset ones take the defaults).",
        ),
    ] = False,
    steps: Annotated[
        str | None, typer.Option(help="Weights to advance through, e.g. 10,25,50,100.")
    ] = None,
    bake: Annotated[str | None, typer.Option(help="Bake time per step, e.g. 10m.")] = None,
    min_samples: Annotated[
        int | None, typer.Option(min=1, help="Requests each version needs before a decision.")
    ] = None,
    max_error_increase: Annotated[
        float | None, typer.Option(min=0, help="Error-rate increase over stable, e.g. 0.02.")
    ] = None,
    max_p99_ratio: Annotated[
        float | None, typer.Option(help="p99 latency limit as a multiple of stable, e.g. 1.5.")
    ] = None,
    max_psi: Annotated[
        float | None, typer.Option(min=0, help="Output drift limit (PSI vs stable), e.g. 0.2.")
    ] = None,
    max_rejection_increase: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Also limit the increase in requests rejected as the caller's fault (4xx) "
            "over stable, e.g. 0.05; off by default, since callers choose what they send.",
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Give VERSION WEIGHT percent of an alias's traffic; the rest stays on the stable one."""
    body: dict[str, Any] = {"version": version, "weight": weight, "expected_revision": revision}
    try:
        body["policy"] = policy_body(
            guard=guard,
            steps=steps,
            bake=bake,
            min_samples=min_samples,
            max_error_increase=max_error_increase,
            max_p99_ratio=max_p99_ratio,
            max_psi=max_psi,
            max_rejection_increase=max_rejection_increase,
        )
    except LayerserveError as exc:
        fail(exc.message)
    _move(endpoint, model, alias, "canary", {**body, "force": force, "reason": reason}, as_json)


def rollback(
    model: str,
    endpoint: Endpoint,
    alias: AliasOpt = None,
    revision: Revision = None,
    reason: Reason = "",
    as_json: Json = False,
) -> None:
    """Return an alias to its previous routes in one conditional write."""
    body = {"expected_revision": revision, "reason": reason}
    _move(endpoint, model, alias, "rollback", body, as_json)


def archive(
    model: str, version: str, endpoint: Endpoint, reason: Reason = "", as_json: Json = False
) -> None:
    """Retire a version that no alias uses any more."""
    client = _session(endpoint)
    done = client.post(path("models", model, "versions", version, "archive"), {"reason": reason})
    _out(done, as_json, lambda console: console.print(render.version_line(done)))


def status(
    endpoint: Endpoint,
    model: Annotated[str | None, typer.Argument(help="A model (default: list the models).")] = None,
    as_json: Json = False,
) -> None:
    """Aliases with their routes and weights, and versions with their states."""
    client = _session(endpoint)
    if model is None:
        models = client.get(path("models"))
        _out(models, as_json, lambda console: render.show_models(console, models["models"]))
        return
    found = client.get(path("models", model))
    _out(found, as_json, lambda console: render.show_status(console, found))


def history(
    model: str,
    endpoint: Endpoint,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    cursor: Annotated[str | None, typer.Option(help="Continue from an earlier page.")] = None,
    as_json: Json = False,
) -> None:
    """Who changed what, when and why, newest first."""
    client = _session(endpoint)
    page = client.get(path("models", model, "history"), limit=limit, cursor=cursor)
    _out(page, as_json, lambda console: render.show_history(console, page))


COMMANDS: tuple[Callable[..., None], ...] = (
    register,
    promote,
    canary,
    rollback,
    archive,
    status,
    history,
)
