"""The local registry accepts a layer version only if the local "layer" holds it.

In AWS a layer location names a folder of the deployed model layer. Locally that layer
is the models root ``layerserve dev`` serves: a version registered from any other folder
would be marked ready and then answer 503 at its first request. So the local registry
refuses it, naming the folder where the version must be packaged.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import orjson

from layerserve.adapters.lambda_handler import Handler
from layerserve.domain.layout import MANIFEST_FILE, layer_folder
from layerserve.domain.manifest import Manifest

_REGISTER = re.compile(r"^/registry/models/[^/]+/versions/?$")


def only_served_layer_versions(handler: Handler, models_root: Path) -> Handler:
    """``handler`` (the registry's), refusing layer registrations ``models_root`` lacks."""
    root = models_root.resolve()

    def registry(event: dict[str, Any], context: Any) -> dict[str, Any]:
        refusal = _refusal(event, root)
        if refusal is None:
            return handler(event, context)
        return {
            "statusCode": 400,
            "headers": {"content-type": "application/json"},
            "body": orjson.dumps({"error": refusal}).decode(),
        }

    return registry


def _refusal(event: dict[str, Any], root: Path) -> str | None:
    if event["requestContext"]["http"]["method"] != "POST" or not _REGISTER.match(event["rawPath"]):
        return None
    body = _json(event)
    location, sent = body.get("location"), body.get("manifest")
    wanted = layer_folder(root, location) if isinstance(location, str) else None
    if wanted is None or not isinstance(sent, dict):
        return None  # S3 artifacts, and malformed requests the registry answers itself
    held = _manifest(wanted.resolve(), root)
    if held is None:
        return (
            f"the local stack serves layer versions from {root} only and {wanted} holds none: "
            f"package the version there (layerserve package MODEL.onnx --name "
            f"{sent.get('name')} --version {sent.get('version')} --out {root.parent}), "
            "then register that folder"
        )
    if held.artifact.sha256 != (sent.get("artifact") or {}).get("sha256"):
        return (
            f"{wanted} holds another packaging of this version than the one registered; "
            "versions are immutable: register the folder the local stack serves"
        )
    return None


def _json(event: dict[str, Any]) -> dict[str, Any]:
    raw = event.get("body") or ""
    try:
        data = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
        body = orjson.loads(data)
    except (ValueError, orjson.JSONDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _manifest(folder: Path, root: Path) -> Manifest | None:
    if root not in folder.parents:
        return None
    try:
        return Manifest.from_json((folder / MANIFEST_FILE).read_bytes())
    except (OSError, ValueError):
        return None
