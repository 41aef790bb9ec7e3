"""The inference API's own description: an OpenAPI document and a plain HTML page of it.

The document (``openapi.json`` beside this module) describes the Open Inference Protocol
REST routes as this server implements them. ``install_openapi`` adds two GET routes:
``/v2/openapi.json`` and ``/v2/docs``; both are read and rendered once, on first use.
"""

from __future__ import annotations

import html
from functools import cache
from importlib.resources import files
from typing import Any, Final

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

OPENAPI_PATH: Final = "/v2/openapi.json"
DOCS_PATH: Final = "/v2/docs"
_METHODS: Final = ("get", "post")


@cache
def openapi_bytes() -> bytes:
    return files("layerserve.api").joinpath("openapi.json").read_bytes()


def openapi_document() -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(openapi_bytes())
    return document


@cache
def docs_page() -> str:
    """The document as one self-contained HTML page: no scripts, no CDN."""
    spec = openapi_document()
    info = spec["info"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{_e(info['title'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "code,pre{background:#f4f4f4;padding:.1rem .3rem}pre{padding:.6rem;overflow:auto}"
        "h3 code{font-size:1rem}</style></head><body>",
        f"<h1>{_e(info['title'])}</h1><p>{_e(info['description'])}</p>",
        f"<p>Machine-readable: <a href='{OPENAPI_PATH}'>{OPENAPI_PATH}</a></p><h2>Routes</h2>",
    ]
    for path, item in spec["paths"].items():
        for method in (m for m in _METHODS if m in item):
            parts.append(_operation(method, path, item[method]))
    parts.append("<h2>Schemas</h2>")
    for name, schema in spec["components"]["schemas"].items():
        body = orjson.dumps(schema, option=orjson.OPT_INDENT_2).decode()
        parts.append(f"<h3 id='{_e(name)}'>{_e(name)}</h3><pre>{_e(body)}</pre>")
    parts.append("</body></html>")
    return "".join(parts)


def _operation(method: str, path: str, operation: dict[str, Any]) -> str:
    lines = [
        f"<h3><code>{method.upper()} {_e(path)}</code> — {_e(operation['summary'])}</h3>",
        f"<p>{_e(operation['description'])}</p><ul>",
    ]
    for param in operation.get("parameters", []):
        where = f"{param['in']}{', required' if param.get('required') else ''}"
        about = _e(param.get("description", ""))
        lines.append(f"<li><code>{_e(param['name'])}</code> ({where}): {about}</li>")
    for media, content in operation.get("requestBody", {}).get("content", {}).items():
        lines.append(f"<li>body <code>{_e(media)}</code>: {_schema_link(content['schema'])}</li>")
    for status, response in operation["responses"].items():
        schemas = ", ".join(
            _schema_link(content["schema"]) for content in response.get("content", {}).values()
        )
        lines.append(f"<li>{_e(status)}: {_e(response['description'])} {schemas}</li>")
    lines.append("</ul>")
    return "".join(lines)


def _schema_link(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return f"<code>{_e(str(schema.get('type', 'any')))}</code>"
    name = ref.rsplit("/", 1)[-1]
    return f"<a href='#{_e(name)}'>{_e(name)}</a>"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def install_openapi(app: FastAPI) -> None:
    """Serve the document and the page (GET only; other methods get the JSON 405)."""

    async def document(_: Request) -> Response:
        return Response(openapi_bytes(), media_type="application/json")

    async def page(_: Request) -> Response:
        return Response(docs_page(), media_type="text/html; charset=utf-8")

    app.add_route(OPENAPI_PATH, document, methods=["GET"])
    app.add_route(DOCS_PATH, page, methods=["GET"])
