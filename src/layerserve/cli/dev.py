"""``layerserve dev``: every function of the stack behind one local HTTP server."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import orjson
import typer
import uvicorn
from rich.console import Console

from layerserve.cli.package import fail
from layerserve.domain import layout
from layerserve.domain.manifest import Manifest, TensorSpec
from layerserve.domain.versions import version_key
from layerserve.local.guardrails import POLICIES
from layerserve.local.malloc import limit_arenas
from layerserve.local.ports import port_in_use
from layerserve.local.stack import INFERENCE_AUTH, LocalStack, StackOptions
from layerserve.local.traffic import DemoTraffic

console = Console(stderr=True)


def models_root(folder: Path) -> Path:
    """Accept either a layer folder (holding ``models/``) or the models root itself."""
    nested = layout.models_root(folder)
    return nested if nested.is_dir() else folder


def dev(
    models: Annotated[Path, typer.Option(help="Layer folder or models root to serve.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    aws_port: Annotated[int, typer.Option(help="Port of the embedded AWS emulator (0: any).")] = 0,
    embedded_aws: Annotated[
        bool,
        typer.Option(
            "--embedded-aws/--external-aws",
            help="Run an AWS emulator in-process, or use AWS_ENDPOINT_URL / real AWS.",
        ),
    ] = True,
    canary: Annotated[
        int | None,
        typer.Option(min=1, max=99, help="With 2+ versions: canary the newest at this weight."),
    ] = None,
    canary_policy: Annotated[
        str | None,
        typer.Option(
            help=f"Guardrails for the --canary: {' or '.join(POLICIES)} "
            "(fast: 10 → 50 → 100 %, 30 s bake, 100 samples)."
        ),
    ] = None,
    tick: Annotated[
        float,
        typer.Option(
            min=0.5, help="Seconds between guardrail runs (and log deliveries, up to 1 s)."
        ),
    ] = 5.0,
    traffic: Annotated[
        float,
        typer.Option(min=0, help="Send this many random requests per second (0: none)."),
    ] = 0.0,
    inference_auth: Annotated[
        str,
        typer.Option(
            help="Model routes' auth, as the template's InferenceAuth: NONE, AWS_IAM "
            "(SigV4 with the printed keys) or JWT (tokens of a local issuer it prints)."
        ),
    ] = "NONE",
    emf: Annotated[bool, typer.Option(help="Print CloudWatch EMF metric lines.")] = False,
    verbose: Annotated[bool, typer.Option(help="Print the handlers' INFO log lines.")] = False,
    example: Annotated[
        int,
        typer.Option(
            min=0,
            max=9,
            help="First package this many example iris versions into --models "
            "(as `layerserve example` does; identical versions already there are kept).",
        ),
    ] = 0,
) -> None:
    """Run the whole stack locally: inference, registry and metrics through their handlers."""
    limit_arenas()  # before the stack starts its threads
    if canary_policy is not None and canary_policy not in POLICIES:
        raise typer.BadParameter(f"choose {' or '.join(POLICIES)}", param_hint="--canary-policy")
    if inference_auth not in INFERENCE_AUTH:
        choices = " or ".join(INFERENCE_AUTH)
        raise typer.BadParameter(f"choose {choices}", param_hint="--inference-auth")
    _check_ports(host, port, aws_port if embedded_aws else 0)
    if example:
        _write_example(models, example)
    root = models_root(models)
    if not root.is_dir():
        raise typer.BadParameter(f"{models} is not a folder", param_hint="--models")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "layerserve")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false" if emf else "true"
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO" if verbose else "WARNING")
    scratch = Path(tempfile.mkdtemp(prefix="layerserve-"))
    policy = POLICIES[canary_policy] if canary_policy else None
    options = StackOptions(
        root,
        scratch,
        embedded_aws,
        aws_port,
        canary_weight=canary,
        tick_s=tick,
        canary_policy=policy,
        inference_auth=inference_auth,
    )
    stack = LocalStack(options)
    gateway = stack.start()
    base = f"http://{host}:{port}"
    _describe(stack, base)
    # Loopback whatever address the server listens on: the requests never leave the host.
    sender = DemoTraffic(f"http://127.0.0.1:{port}", latest_manifests(root), traffic or 1.0)
    if traffic:
        console.print(f"\nsending {traffic:g} random requests per second to each model in turn")
        sender.start()
    try:
        uvicorn.run(gateway, host=host, port=port, log_level="warning")
    finally:
        if traffic:
            sender.stop()
        stack.stop()


def _check_ports(host: str, port: int, aws_port: int) -> None:
    """Fail before anything is written or started when a port is taken."""
    if port_in_use(host, port):
        fail(f"port {port} on {host} is in use (another `layerserve dev`?); choose another --port")
    if aws_port and port_in_use("127.0.0.1", aws_port):
        fail(f"port {aws_port} on 127.0.0.1 is in use; choose another --aws-port (0: any)")


def _write_example(layer: Path, count: int) -> None:
    from layerserve.cli.example import example_versions, refusal, write_examples
    from layerserve.domain.errors import LayerserveError
    from layerserve.services.packaging import VersionExistsError

    try:
        for _, report in write_examples(layer, "iris", example_versions("1", count)):
            console.print(f"example version ready: {report.version_dir}", highlight=False)
    except VersionExistsError as exc:
        fail(refusal(exc))
    except LayerserveError as exc:
        fail(exc.message)


def _describe(stack: LocalStack, base: str) -> None:
    names = stack.options.names
    console.print(f"[bold]layerserve[/] local stack on {base}")
    console.print(f"  models root     {stack.options.models_root}")
    console.print(f"  AWS endpoint    {stack.endpoint or 'default AWS'}")
    console.print(f"  registry table  {names.registry_table}")
    console.print(f"  artifacts       s3://{names.artifacts_bucket}")
    console.print(f"  uploads         s3://{names.uploads_bucket}/inputs/<model>/...")
    for model in stack.seeded:
        routes = f"{model.stable}" + (
            f" + canary {model.canary} at {model.canary_weight}%" if model.canary else ""
        )
        console.print(
            f"  {model.name}: versions {', '.join(model.versions)}; production → {routes}"
        )
        if model.warning:
            console.print(f"  [yellow]warning:[/] {model.warning}", highlight=False)
    lines = [*example_requests(stack.options.models_root, base)]
    # Registry routes want a SigV4 signature, as behind API Gateway's IAM authoriser.
    aws = f" AWS_ENDPOINT_URL={stack.endpoint}" if stack.endpoint is not None else ""
    credentials = "AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local"
    lines.append(f"export LAYERSERVE_ENDPOINT={base}{aws} {credentials}")
    for model in stack.seeded:
        lines += [f"layerserve status {model.name}", f"layerserve metrics {model.name}"]
        if model.canary:
            lines.append(f"layerserve rollback {model.name}   # drop the canary")
    if stack.endpoint is not None and stack.seeded:
        first = stack.seeded[0].name
        lines.append(f"layerserve batch rows.jsonl --model {first} --endpoint-url {stack.endpoint}")
    if stack.issuer is not None:
        issuer = stack.issuer
        console.print(f"  JWT issuer      {issuer.issuer} (audience {issuer.audience})")
        lines.append(
            f"export TOKEN={issuer.token()}   # valid 1 h; send Authorization: Bearer $TOKEN"
        )
    console.print("\nTry:")
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)


def latest_manifests(root: Path) -> list[Manifest]:
    """The highest version's manifest of each model under ``root``, by model name."""
    latest: dict[str, Manifest] = {}
    for manifest_path in sorted(root.glob(layout.MANIFEST_GLOB)):
        manifest = Manifest.from_json(manifest_path.read_bytes())
        known = latest.get(manifest.name)
        if known is None or version_key(manifest.version) > version_key(known.version):
            latest[manifest.name] = manifest
    return [latest[name] for name in sorted(latest)]


def example_requests(root: Path, base: str) -> list[str]:
    """A ready-to-paste curl line for each model found under ``root``."""
    lines = []
    for manifest in latest_manifests(root):
        name = manifest.name
        body = orjson.dumps({"inputs": [_zeros(spec) for spec in manifest.signature.inputs]})
        lines.append(
            f"curl -s {base}/v2/models/{name}/infer -H 'content-type: application/json' "
            f"-d '{body.decode()}'"
        )
    return lines


def _zeros(spec: TensorSpec) -> dict[str, object]:
    shape = [dim if isinstance(dim, int) and dim > 0 else 1 for dim in spec.shape]
    count = 1
    for dim in shape:
        count *= dim
    value: object = {"BOOL": False, "BYTES": "text"}.get(spec.datatype, 0)
    return {"name": spec.name, "datatype": spec.datatype, "shape": shape, "data": [value] * count}
