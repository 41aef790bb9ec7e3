"""The inference function's HTTP surface: Open Inference Protocol REST + V1 predict.

Routes only translate HTTP to the data plane and back; the data plane decides.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.telemetry import TelemetryConfig
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from layerserve import __version__
from layerserve.api.errors import install_error_handlers
from layerserve.api.openapi import install_openapi
from layerserve.api.response_size import answer_response
from layerserve.domain.errors import InvalidInputError, PayloadTooLargeError
from layerserve.domain.manifest import TensorSpec
from layerserve.protocol import HEADER_LENGTH
from layerserve.services.catalog import Resolution
from layerserve.services.data_plane import DataPlane, InferCall, Wire

ROUTING_KEY_HEADER = b"x-routing-key"
BINARY_HEADER_LENGTH = HEADER_LENGTH.encode("latin-1")
NO_OPENTELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
"""Lambda traces with X-Ray and measures with EMF; FastAPI's per-request OpenTelemetry
provider checks would only cost time."""
JSON = "application/json"
Headers = dict[bytes, bytes]
"""Request headers by lower-case name (bytes, as ASGI servers and Mangum give them)."""


@dataclass(frozen=True, slots=True)
class InferenceLimits:
    max_body_bytes: int = 6 * 1024 * 1024


def json_response(document: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(document), status_code=status, media_type=JSON)


def create_inference_app(plane: DataPlane, limits: InferenceLimits | None = None) -> FastAPI:
    """The HTTP surface of ``plane``: inference routes translate and delegate to it; the
    health, metadata and readiness routes ask its ``InferenceService``."""
    limits = limits or InferenceLimits()
    service = plane.service
    app = FastAPI(
        title="layerserve inference",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # the protocol's document is served by ``install_openapi``
        telemetry=NO_OPENTELEMETRY,
    )
    install_error_handlers(app)

    # Plain Starlette routes: no FastAPI parameter solving or response validation (about
    # 100 µs less per inference request), and no pydantic field building when the app is
    # created (about 30 ms less cold start for the four routes with path parameters).
    # The inference routes come first because routes match in order. The catalog checks
    # the names.
    async def infer(request: Request) -> Response:
        return await _serve("v2", request)

    async def predict(request: Request) -> Response:
        return await _serve("v1", request)

    for path in ("/v2/models/{model}/infer", "/v2/models/{model}/versions/{version}/infer"):
        app.add_route(path, infer, methods=["POST"])
    for path in ("/v1/models/{model}:predict", "/v1/models/{model}/versions/{version}:predict"):
        app.add_route(path, predict, methods=["POST"])

    async def live(_: Request) -> Response:
        return json_response({"live": True})

    async def ready(_: Request) -> Response:
        is_ready = service.server_ready()
        return json_response({"ready": is_ready}, 200 if is_ready else 503)

    async def server_metadata(_: Request) -> Response:
        return json_response(
            {"name": "layerserve", "version": __version__, "extensions": ["binary_tensor_data"]}
        )

    async def model_metadata(request: Request) -> Response:
        model, version = _names(request)
        resolution, versions = service.metadata(model, version)
        return json_response(_metadata(resolution, versions))

    async def model_ready(request: Request) -> Response:
        resolution = service.resolve(*_names(request))
        service.ensure_ready(resolution)
        record = resolution.record
        return json_response({"name": record.model, "version": record.version, "ready": True})

    async def v1_models(_: Request) -> Response:
        return json_response({"models": service.catalog.model_names()})

    async def v1_model_ready(request: Request) -> Response:
        """KServe V1 readiness: the same resolution and error rules as V2's."""
        resolution = service.resolve(*_names(request))
        service.ensure_ready(resolution)
        return json_response({"name": resolution.record.model, "ready": True})

    gets = {
        "/v1/models": v1_models,
        "/v1/models/{model}": v1_model_ready,
        "/v2/health/live": live,
        "/v2/health/ready": ready,
        "/v2": server_metadata,
        "/v2/models/{model}": model_metadata,
        "/v2/models/{model}/versions/{version}": model_metadata,
        "/v2/models/{model}/ready": model_ready,
        "/v2/models/{model}/versions/{version}/ready": model_ready,
    }
    for path, endpoint in gets.items():
        app.add_route(path, endpoint, methods=["GET"])
    install_openapi(app)

    async def _serve(protocol: Wire, request: Request) -> Response:
        """Read the body, hand the request to the data plane, return its answer."""
        started = time.perf_counter()
        params = request.path_params
        headers: Headers = dict(request.scope["headers"])  # one pass; the last value wins
        call = InferCall(
            protocol,
            params["model"],
            params.get("version"),
            _header(headers, ROUTING_KEY_HEADER),
            header_length=_header(headers, BINARY_HEADER_LENGTH) if protocol == "v2" else None,
            request_id=_request_id(request),
            started=started,
        )
        try:
            call.body = await _read_body(request, headers, limits.max_body_bytes)
        except Exception as exc:
            plane.refused(call, exc)
            raise
        return answer_response(plane.infer(call))

    return app


def _names(request: Request) -> tuple[str, str | None]:
    """The model name and the optional version (or alias) in the path."""
    params = request.path_params
    return params["model"], params.get("version")


def _request_id(request: Request) -> str | None:
    """The Lambda request id (Mangum puts the context in the ASGI scope)."""
    context = request.scope.get("aws.context")
    request_id = getattr(context, "aws_request_id", None)
    return request_id if isinstance(request_id, str) else None


def _header(headers: Headers, name: bytes) -> str | None:
    """A request header (``name`` in lower case)."""
    value = headers.get(name)
    return None if value is None else value.decode("latin-1")


async def _read_body(request: Request, headers: Headers, limit: int) -> bytes:
    declared = _header(headers, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"request body of {declared} bytes exceeds {limit} bytes")
    body = await _body(request)
    if len(body) > limit:
        raise PayloadTooLargeError(f"request body of {len(body)} bytes exceeds {limit} bytes")
    encoding = (_header(headers, b"content-encoding") or "identity").lower()
    return body if encoding == "identity" else _decompress(body, encoding, limit)


async def _body(request: Request) -> bytes:
    """The request body, from the ASGI messages themselves. Mangum hands it over in one
    message, which is returned as is: Starlette's ``request.body()`` joins it with an
    empty end chunk (a copy, ~0.2 ms and fresh page faults per MiB), and its
    ``request.stream()`` generator costs a few µs a request."""
    chunks: list[bytes] = []
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        if not message.get("more_body", False):
            if not chunks:
                return bytes(chunk)
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)


def _decompress(body: bytes, encoding: str, limit: int) -> bytes:
    if encoding not in ("gzip", "deflate"):
        raise InvalidInputError(f"unsupported Content-Encoding '{encoding}'")
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    decompressor = zlib.decompressobj(wbits)
    try:
        plain = decompressor.decompress(body, limit + 1)
    except zlib.error as exc:
        raise InvalidInputError(f"body is not valid {encoding}: {exc}") from None
    if len(plain) > limit or decompressor.unconsumed_tail:
        raise PayloadTooLargeError(f"decompressed request body exceeds {limit} bytes")
    if not decompressor.eof:
        raise InvalidInputError(f"body is truncated {encoding} data")
    return plain


def _metadata(resolution: Resolution, versions: list[str]) -> dict[str, Any]:
    record = resolution.record
    signature = record.manifest.signature
    return {
        "name": record.model,
        "versions": versions,
        "platform": "onnxruntime_onnx",
        "inputs": [_tensor(spec) for spec in signature.inputs],
        "outputs": [_tensor(spec) for spec in signature.outputs],
        "parameters": {"version": record.version, "onnx_sha256": record.manifest.onnx.sha256},
    }


def _tensor(spec: TensorSpec) -> dict[str, Any]:
    shape = [dim if isinstance(dim, int) and dim >= 0 else -1 for dim in spec.shape]
    return {"name": spec.name, "datatype": spec.datatype, "shape": shape}
