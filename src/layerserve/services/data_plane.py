"""The inference data plane: one request, end to end, whatever transport carried it.

A transport (the HTTP routes) reads the body and hands over an ``InferCall``; the data
plane resolves the model (alias, canary route), decodes the body by its protocol
(``protocol.v2`` or ``protocol.v1``), validates and runs it (``InferenceService``),
encodes the answer, checks that the transport can carry it (``AnswerLimit``), and
reports the outcome to the metrics (``RequestObserver``), failures included: the status
an outcome carries is the one the caller gets (``protocol.status``), its error kind
follows the error's blame. Batch jobs use the same pieces without the per-request
metrics: ``InferenceService`` to resolve and run, ``protocol`` to decode and encode.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from layerserve.domain.manifest import Signature
from layerserve.domain.tensors import InferRequest
from layerserve.protocol import (
    decode_infer_request,
    decode_predict_request,
    encode_infer_response,
    encode_predict_response,
    status_for,
)
from layerserve.services.inference import InferenceService, InferResult
from layerserve.services.telemetry import NullObserver, RequestObserver, RequestOutcome, error_kind

Wire = Literal["v1", "v2"]
"""The request's protocol: Open Inference Protocol V2, or the V1 ``:predict`` one."""
JSON: Final = "application/json"
BINARY: Final = "application/octet-stream"


@dataclass(slots=True)
class InferCall:
    """One inference request as a transport hands it over."""

    protocol: Wire
    model: str
    version: str | None
    """The version or alias the caller named (``None``: the model's default)."""
    routing_key: str | None = None
    """Keeps a caller on one side of a canary."""
    body: bytes = b""
    header_length: str | None = None
    """V2's ``Inference-Header-Content-Length``: the binary extension is in use."""
    request_id: str | None = None
    started: float | None = None
    """``time.perf_counter()`` when the transport received the request (``None``: when
    the data plane does); the latency observed covers reading the body."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The encoded answer: a JSON document, or JSON followed by binary tensor data."""

    body: bytes
    content_type: str = JSON
    header_length: int | None = None
    """The JSON header's length when binary output data follows it."""


class AnswerLimit(Protocol):
    """What the transport can carry back; raises a ``LayerserveError`` beyond it."""

    def check(self, protocol: Wire, answer: Answer) -> None: ...


def _v2_decode(call: InferCall, signature: Signature) -> InferRequest:
    del signature  # a V2 body names its tensors itself
    return decode_infer_request(call.body, call.header_length)


def _v1_decode(call: InferCall, signature: Signature) -> InferRequest:
    return decode_predict_request(call.body, signature)


def _v2_encode(result: InferResult) -> Answer:
    body, header_length = encode_infer_response(result.response)
    if header_length is None:
        return Answer(body)
    return Answer(body, BINARY, header_length)


def _v1_encode(result: InferResult) -> Answer:
    return Answer(encode_predict_response(result.response))


_DECODE: Final[dict[str, Callable[[InferCall, Signature], InferRequest]]] = {
    "v2": _v2_decode,
    "v1": _v1_decode,
}
_ENCODE: Final[dict[str, Callable[[InferResult], Answer]]] = {"v2": _v2_encode, "v1": _v1_encode}


class DataPlane:
    def __init__(
        self,
        service: InferenceService,
        observer: RequestObserver | None = None,
        answer_limit: AnswerLimit | None = None,
    ) -> None:
        self.service = service
        self._observer = observer or NullObserver()
        self._limit = answer_limit

    def infer(self, call: InferCall) -> Answer:
        """Resolve, decode, validate, run and encode ``call``; observed, failures included."""
        started = time.perf_counter() if call.started is None else call.started
        outcome = RequestOutcome(call.protocol, 200, 0.0, call.model, request_id=call.request_id)
        try:
            resolution = self.service.resolve(call.model, call.version, call.routing_key)
            outcome.version, outcome.alias = resolution.record.version, resolution.alias
            outcome.alias_revision = resolution.alias_revision
            request = _DECODE[call.protocol](call, resolution.record.manifest.signature)
            result = self.service.infer(resolution, request)
            _fill(outcome, result)
            answer = _ENCODE[call.protocol](result)
            if self._limit is not None:
                self._limit.check(call.protocol, answer)
            return answer
        except Exception as exc:
            outcome.status, outcome.error_kind = status_for(exc), error_kind(exc)
            raise
        finally:
            outcome.latency_s = time.perf_counter() - started
            self._observer.observe(outcome)

    def refused(self, call: InferCall, exc: BaseException) -> None:
        """Observe a request the transport refused before handing it over (its body was
        too large or not decodable): counted like any other failed request."""
        started = time.perf_counter() if call.started is None else call.started
        outcome = RequestOutcome(
            call.protocol,
            status_for(exc),
            time.perf_counter() - started,
            call.model,
            error_kind=error_kind(exc),
            request_id=call.request_id,
        )
        self._observer.observe(outcome)


def _fill(outcome: RequestOutcome, result: InferResult) -> None:
    outcome.run_s = result.run_s
    outcome.input_elements = result.input_elements
    outcome.outputs = result.outputs
    first = result.response.outputs[0].array if result.response.outputs else None
    outcome.batch_size = int(first.shape[0]) if first is not None and first.ndim else 1
