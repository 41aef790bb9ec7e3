"""In-process half of the warm-overhead bench: ``python -m bench.overhead_child MODE``.

Configured like the Lambda function, through ``LAYERSERVE_*`` and ``POWERTOOLS_*`` variables
set by the parent (``bench.handler_overhead``). MODE ``full`` times every layer of the path,
``handler`` only the raw run, the bare stack and the handler, ``profile`` prints a
cProfile of one case.
"""

from __future__ import annotations

import contextlib
import cProfile
import pstats
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort
import orjson
import pybase64
from fastapi import FastAPI, Request
from mangum import Mangum
from starlette.responses import Response

from bench.harness import NullSink, as_dict, emit, time_interleaved
from layerserve.adapters.artifact_files import ArtifactUnpacker
from layerserve.adapters.lambda_invocation import metrics
from layerserve.adapters.onnx_runtime import session_options
from layerserve.api.inference_app import NO_OPENTELEMETRY
from layerserve.bootstrap import build_inference_service
from layerserve.bootstrap.inference import InferenceHandler, build_inference_handler
from layerserve.domain.layout import MANIFEST_FILE
from layerserve.domain.manifest import Manifest
from layerserve.local.events import FakeLambdaContext, decode_reply, http_api_event
from layerserve.services.data_plane import DataPlane, InferCall
from layerserve.settings import InferenceSettings

# The asgi layer is timed without log_metrics, which would flush: a dimension set there
# is overwritten by the next call with this warning, expected here.
warnings.filterwarnings("ignore", message="Dimension 'model' has already been added")

BIG_FEATURES = 262_144
"""``[1, 262144]`` FP32 is 1 MiB of tensor data."""


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    model: str
    features: int
    binary: bool
    iterations: int

    @property
    def path(self) -> str:
        return f"/v2/models/{self.model}/infer"


# 1 MiB as JSON takes ~60 ms a call and has no target: 100 calls keep `make bench` short.
CASES = (
    Case("tiny [1,4] JSON", "tiny", 4, binary=False, iterations=2000),
    Case("tiny [1,4] binary", "tiny", 4, binary=True, iterations=2000),
    Case("1 MiB [1,262144] JSON", "big", BIG_FEATURES, binary=False, iterations=100),
    Case("1 MiB [1,262144] binary", "big", BIG_FEATURES, binary=True, iterations=200),
)


def request(case: Case, array: np.ndarray[Any, Any]) -> tuple[bytes, dict[str, str]]:
    """The body and headers a client sends: JSON data, or binary in and binary out."""
    spec: dict[str, Any] = {"name": "x", "datatype": "FP32", "shape": list(array.shape)}
    if case.binary:
        spec["parameters"] = {"binary_data_size": array.nbytes}
        document = {"inputs": [spec], "parameters": {"binary_data_output": True}}
        header = orjson.dumps(document)
        body = header + array.tobytes()
        headers = {
            "content-type": "application/octet-stream",
            "inference-header-content-length": str(len(header)),
        }
    else:
        spec["data"] = array.reshape(-1)
        body = orjson.dumps({"inputs": [spec]}, option=orjson.OPT_SERIALIZE_NUMPY)
        headers = {"content-type": "application/json"}
    return body, {**headers, "content-length": str(len(body)), "host": "bench.local"}


def check(case: Case, array: np.ndarray[Any, Any], response: dict[str, Any]) -> None:
    """The handler echoed the tensor (an identity model): a wrong result fails the bench."""
    reply = decode_reply(response)
    if reply.status != 200:
        raise RuntimeError(f"{case.name}: status {reply.status}: {reply.body[:200]!r}")
    if case.binary:
        length = int(reply.headers["inference-header-content-length"])
        echoed = np.frombuffer(reply.body[length:], dtype=np.float32)
    else:
        echoed = np.asarray(orjson.loads(reply.body)["outputs"][0]["data"], dtype=np.float32)
    if not np.array_equal(echoed, array.reshape(-1)):
        raise RuntimeError(f"{case.name}: the response does not echo the input")


def _raw_session(settings: InferenceSettings, model: str) -> ort.InferenceSession:
    """A session built like the handler's, on the same verified, unpacked ONNX bytes."""
    folder = settings.models_dir / model / "1"
    manifest = Manifest.from_json((folder / MANIFEST_FILE).read_bytes())
    unpack = ArtifactUnpacker(settings.scratch_dir / "raw", settings.in_memory_unpack_limit())
    onnx = unpack(folder / manifest.artifact.file, manifest)
    return ort.InferenceSession(
        onnx if isinstance(onnx, bytes) else str(onnx),
        sess_options=session_options(),
        providers=["CPUExecutionProvider"],
    )


def layers(case: Case, function: InferenceHandler, mode: str) -> dict[str, Callable[[], object]]:
    """The calls to time, from the bare session.run to the whole handler."""
    settings, handler = function.settings, function.handler
    array = np.random.default_rng(0).normal(size=(1, case.features)).astype(np.float32)
    body, headers = request(case, array)
    event = http_api_event("POST", case.path, body, headers)
    context: Any = FakeLambdaContext()  # has what Mangum and Powertools read
    response = handler(event, context)
    check(case, array, response)
    session = _raw_session(settings, case.model)
    calls: dict[str, Callable[[], object]] = {"raw": lambda: session.run(["y"], {"x": array})}
    calls["stack"] = _bare_stack_call(event, context)
    if mode == "full":
        if case.binary:
            calls["floor"] = _floor_call(event, response, session, array)
        calls["service"] = _service_call(settings, case, body, headers)
        calls["asgi"] = _asgi_call(function, event, context)
    calls["handler"] = lambda: handler(event, context)
    return calls


def _bare_stack_call(event: dict[str, Any], context: Any) -> Callable[[], object]:
    """The reference the targets were set against: Mangum + FastAPI with one async route
    that reads the body and answers a small orjson document. No model, no codec."""
    app = FastAPI(docs_url=None, redoc_url=None, telemetry=NO_OPENTELEMETRY)

    @app.post("/v2/models/{model}/infer")
    async def infer(model: str, request: Request) -> Response:
        body = await request.body()
        document = {"model_name": model, "received": len(body)}
        return Response(orjson.dumps(document), media_type="application/json")

    adapter = Mangum(app, lifespan="off")
    return lambda: adapter(event, context)


def _floor_call(
    event: dict[str, Any], response: dict[str, Any], session: ort.InferenceSession, array: Any
) -> Callable[[], object]:
    """What no handler can avoid behind API Gateway: base64-decode the request body, run
    the session, base64-encode the response body (the one the handler returned)."""
    body = pybase64.b64decode(response["body"])
    request = event["body"]

    def call() -> object:
        pybase64.b64decode(request, validate=True)
        session.run(["y"], {"x": array})
        return pybase64.b64encode_as_string(body)

    return call


def _asgi_call(
    function: InferenceHandler, event: dict[str, Any], context: Any
) -> Callable[[], object]:
    """Mangum and FastAPI without the Powertools decorators.

    Metrics are cleared after each call as ``log_metrics`` would flush them: left to pile
    up, Powertools re-formats the growing value lists on every ``add_metric``.
    """
    adapter = function.adapter

    def call() -> object:
        response = adapter(event, context)
        metrics.clear_metrics()
        return response

    return call


def _service_call(
    settings: InferenceSettings, case: Case, body: bytes, headers: dict[str, str]
) -> Callable[[], object]:
    """The data plane without HTTP: resolve, decode, validate, run, encode (no observer)."""
    plane = DataPlane(build_inference_service(settings))
    header_length = headers.get("inference-header-content-length")

    def call() -> object:
        return plane.infer(
            InferCall("v2", case.model, None, body=body, header_length=header_length)
        )

    return call


def measure(mode: str) -> dict[str, dict[str, dict[str, Any]]]:
    function = build_inference_handler(InferenceSettings())  # one execution environment
    results: dict[str, dict[str, dict[str, Any]]] = {}
    with contextlib.redirect_stdout(NullSink()):
        for case in CASES:
            warmup = max(20, case.iterations // 10)
            timed = time_interleaved(layers(case, function, mode), case.iterations, warmup)
            results[case.name] = {layer: as_dict(stats) for layer, stats in timed.items()}
    return results


def profile(case_name: str, top: int = 30) -> None:
    case = next(case for case in CASES if case.name == case_name)
    with contextlib.redirect_stdout(NullSink()):
        function = build_inference_handler(InferenceSettings())
        handler = layers(case, function, "handler")["handler"]
        for _ in range(50):
            handler()
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [handler() for _ in range(case.iterations)])
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main(argv: list[str]) -> None:
    mode = argv[0] if argv else "full"
    if mode == "profile":
        profile(argv[1] if len(argv) > 1 else CASES[0].name)
        return
    emit({"mode": mode, "cases": measure(mode)})


if __name__ == "__main__":
    main(sys.argv[1:])
