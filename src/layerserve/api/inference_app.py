"""The inference function's HTTP surface: Open Inference Protocol REST + V1 predict.

Routes only translate HTTP to the data plane and back; the data plane decides.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.telemetry import TelemetryConfig
from starlette.responses import Response

from layerserve import __version__
from layerserve.api.errors import install_error_handlers
from layerserve.api.openapi import install_openapi
from layerserve.api.response_size import LAMBDA_RESPONSE_LIMIT, check_response_size
from layerserve.domain.errors import InvalidInputError, PayloadTooLargeError
from layerserve.domain.manifest import TensorSpec
from layerserve.protocol.binary import HEADER_LENGTH
from layerserve.protocol.status import status_for
from layerserve.protocol.v1 import decode_predict_request, encode_predict_response
from layerserve.protocol.v2 import decode_infer_request, encode_infer_response
from layerserve.services.catalog import Resolution
from layerserve.services.inference import InferenceService, InferResult
from layerserve.services.telemetry import (
    NullObserver,
    RequestObserver,
    RequestOutcome,
    error_kind,
)

ROUTING_KEY_HEADER = "x-routing-key"
NO_OPENTELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
"""Lambda traces with X-Ray and measures with EMF; FastAPI's per-request OpenTelemetry
provider checks would only cost time."""
JSON = "application/json"
Headers = dict[bytes, bytes]
"""Request headers by lower-case name."""


@dataclass(frozen=True, slots=True)
class InferenceLimits:
    max_body_bytes: int = 6 * 1024 * 1024
    max_response_bytes: int = LAMBDA_RESPONSE_LIMIT
    """Lambda's response payload limit: a larger answer is refused as the caller's (400)."""


V2_ADVICE = (
    "ask for binary outputs (parameters.binary_data_output), fewer outputs ('outputs'), "
    "or fewer rows per request"
)
V1_ADVICE = "send fewer instances, or use the V2 route with binary outputs"


def json_response(document: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(document), status_code=status, media_type=JSON)


def create_inference_app(
    service: InferenceService,
    limits: InferenceLimits | None = None,
    observer: RequestObserver | None = None,
) -> FastAPI:
    limits = limits or InferenceLimits()
    observe = observer or NullObserver()
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
        def run(body: bytes, resolution: Resolution, headers: Headers) -> InferResult:
            decoded = decode_infer_request(body, _header(headers, HEADER_LENGTH))
            return service.infer(resolution, decoded)

        def encode(result: InferResult) -> Response:
            body, header_length = encode_infer_response(result.response)
            if header_length is None:
                return Response(body, media_type=JSON)
            headers = {"Inference-Header-Content-Length": str(header_length)}
            return Response(body, media_type="application/octet-stream", headers=headers)

        return await _serve("v2", request, run, encode, V2_ADVICE)

    async def predict(request: Request) -> Response:
        def run(body: bytes, resolution: Resolution, headers: Headers) -> InferResult:
            del headers
            decoded = decode_predict_request(body, resolution.record.manifest.signature)
            return service.infer(resolution, decoded)

        def encode(result: InferResult) -> Response:
            return Response(encode_predict_response(result.response), media_type=JSON)

        return await _serve("v1", request, run, encode, V1_ADVICE)

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

    async def _serve(
        route: str,
        request: Request,
        run: Callable[[bytes, Resolution, Headers], InferResult],
        encode: Callable[[InferResult], Response],
        advice: str,
    ) -> Response:
        started = time.perf_counter()
        model, version = _names(request)
        outcome = RequestOutcome(
            route=route, status=200, latency_s=0.0, model=model, request_id=_request_id(request)
        )
        headers: Headers = dict(request.scope["headers"])  # one pass; the last value wins
        try:
            body = await _read_body(request, headers, limits.max_body_bytes)
            resolution = service.resolve(model, version, _header(headers, ROUTING_KEY_HEADER))
            outcome.version, outcome.alias = resolution.record.version, resolution.alias
            outcome.alias_revision = resolution.alias_revision
            result = run(body, resolution, headers)
            _fill(outcome, result)
            response = encode(result)
            check_response_size(response, limits.max_response_bytes, advice)
            return response
        except Exception as exc:
            outcome.status, outcome.error_kind = status_for(exc), error_kind(exc)
            raise
        finally:
            outcome.latency_s = time.perf_counter() - started
            observe.observe(outcome)

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


def _fill(outcome: RequestOutcome, result: InferResult) -> None:
    outcome.run_s = result.run_s
    outcome.input_elements = result.input_elements
    outcome.outputs = result.outputs
    first = result.response.outputs[0].array if result.response.outputs else None
    outcome.batch_size = int(first.shape[0]) if first is not None and first.ndim else 1


def _header(headers: Headers, name: str) -> str | None:
    """A request header (``name`` in lower case, as ASGI servers and Mangum give them)."""
    value = headers.get(name.encode("latin-1"))
    return None if value is None else value.decode("latin-1")


async def _read_body(request: Request, headers: Headers, limit: int) -> bytes:
    declared = _header(headers, "content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"request body of {declared} bytes exceeds {limit} bytes")
    body = await _body(request)
    if len(body) > limit:
        raise PayloadTooLargeError(f"request body of {len(body)} bytes exceeds {limit} bytes")
    encoding = (_header(headers, "content-encoding") or "identity").lower()
    return body if encoding == "identity" else _decompress(body, encoding, limit)


async def _body(request: Request) -> bytes:
    """The request body; Mangum hands it over in one message, which is returned as is
    (Starlette's ``request.body()`` joins it with an empty end chunk: a copy, ~0.2 ms and
    fresh page faults per MiB)."""
    chunks = [chunk async for chunk in request.stream() if chunk]
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


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
