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

from layerserve.domain.manifest import Manifest, TensorSpec
from layerserve.local.gateway import LocalGateway, Route

console = Console(stderr=True)


def models_root(folder: Path) -> Path:
    """Accept either a layer folder (holding ``models/``) or the models root itself."""
    nested = folder / "models"
    return nested if nested.is_dir() else folder


def dev(
    models: Annotated[Path, typer.Option(help="Layer folder or models root to serve.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    emf: Annotated[bool, typer.Option(help="Print CloudWatch EMF metric lines.")] = False,
) -> None:
    """Serve the inference function locally, through its real Lambda handler."""
    root = models_root(models)
    if not root.is_dir():
        raise typer.BadParameter(f"{models} is not a folder", param_hint="--models")
    # Configuration reaches the handlers the way Lambda gives it: environment variables.
    os.environ["LAYERSERVE_MODELS_DIR"] = str(root.resolve())
    os.environ.setdefault("LAYERSERVE_SCRATCH_DIR", tempfile.mkdtemp(prefix="layerserve-"))
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "layerserve")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false" if emf else "true"
    from layerserve.lambdas import inference

    gateway = LocalGateway([Route("/v2", inference.handler), Route("/v1", inference.handler)])
    base = f"http://{host}:{port}"
    console.print(f"[bold]layerserve[/] local stack on {base}  (models: {root})")
    for line in example_requests(root, base):
        console.print(line, highlight=False, soft_wrap=True)
    uvicorn.run(gateway, host=host, port=port, log_level="warning")


def example_requests(root: Path, base: str) -> list[str]:
    """A ready-to-paste curl line for each model found under ``root``."""
    lines = []
    for manifest_path in sorted(root.glob("*/*/manifest.json")):
        manifest = Manifest.from_json(manifest_path.read_bytes())
        body = orjson.dumps({"inputs": [_zeros(spec) for spec in manifest.signature.inputs]})
        lines.append(
            f"curl -s {base}/v2/models/{manifest.name}/versions/{manifest.version}/infer "
            f"-H 'content-type: application/json' -d '{body.decode()}'"
        )
    return lines


def _zeros(spec: TensorSpec) -> dict[str, object]:
    shape = [dim if isinstance(dim, int) and dim > 0 else 1 for dim in spec.shape]
    count = 1
    for dim in shape:
        count *= dim
    value: object = {"BOOL": False, "BYTES": "text"}.get(spec.datatype, 0)
    return {"name": spec.name, "datatype": spec.datatype, "shape": shape, "data": [value] * count}
