"""The inference function's wiring: settings in, its Lambda handler out.

``build_inference_handler`` builds one execution environment's function: the service over
its adapters (``inference_service``) and the init phase that loads its default versions
(``inference_init``), the metric observers, the FastAPI app behind the Mangum adapter, and
the handler (``adapters.lambda_invocation``). Tests and the local stack call it with what they need
(settings, clients, where metric records go). The entry module ``functions/inference/app.py``
starts the init phase during its imports and calls ``entry_point`` with it; the SnapStart
hooks (``lambdas.inference_snapstart``) prime and restore the ``InferenceHandler`` it built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from layerserve.adapters.apigw import ApiGatewayAdapter
from layerserve.adapters.lambda_handler import Handler
from layerserve.adapters.lambda_invocation import SERVICE, make_inference_handler, metrics
from layerserve.adapters.metric_log import EmfSpec, MetricRecordObserver, stdout_line
from layerserve.adapters.powertools_metrics import PowertoolsMetricsObserver
from layerserve.api.inference_app import InferenceLimits, create_inference_app
from layerserve.api.response_size import LambdaPayloadLimit
from layerserve.bootstrap.inference_init import InitPhase, begin
from layerserve.bootstrap.inference_service import reconnect_inference_service
from layerserve.bootstrap.lazy import OnFirstUse
from layerserve.services.data_plane import DataPlane
from layerserve.services.inference import InferenceService
from layerserve.services.telemetry import FanOutObserver, RequestObserver
from layerserve.settings import InferenceSettings, MetricsFormat

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

RecordSink = Callable[[bytes], None]
"""Where metric record lines go: stdout (Lambda's log), or the local stack's log delivery."""


@dataclass(slots=True)
class InferenceHandler:
    """One execution environment's inference function: its handler and what it serves with."""

    settings: InferenceSettings
    service: InferenceService
    records: MetricRecordObserver
    """The per-request metric record lines (their cold start and ``InitTime``)."""
    adapter: ApiGatewayAdapter
    """Mangum over the FastAPI app, without the handler's logging context and metrics."""
    init: InitPhase
    handler: Handler = field(init=False)
    _init_awaited: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.handler = make_inference_handler(self.adapter, self.ready)

    def ready(self) -> None:
        """Wait for the init phase's loading (once): the next request is the cold start."""
        if not self._init_awaited:
            self.cold_start(self.init.wait())
            self._init_awaited = True

    def cold_start(self, init_ms: float) -> None:
        """The next request is this environment's cold start, after ``init_ms`` of init
        (the init phase, or a snapshot restore): its metric record and ``InitTime``."""
        self.records.restart(init_ms)
        record_init_time(init_ms)

    def reconnect(self) -> None:
        """After a snapshot restore: new AWS clients and registry catalog (models stay)."""
        reconnect_inference_service(self.service, self.settings)


def build_inference_handler(
    settings: InferenceSettings,
    *,
    dynamodb: DynamoDBClient | None = None,
    s3: S3Client | None = None,
    record_sink: RecordSink = stdout_line,
    init: InitPhase | None = None,
) -> InferenceHandler:
    """The function over ``settings``; AWS clients are created unless injected.

    ``init``: an init phase already begun over these settings (the entry module's, loading
    during the imports); without one, the service is wired here and its default versions
    load on the first call.
    """
    if init is None:
        init = begin(settings, dynamodb=dynamodb, s3=s3, background=False)
    records, observer = _observers(settings.metrics_format, record_sink)
    adapter = _asgi_adapter(init.service, settings, observer)
    return InferenceHandler(settings, init.service, records, adapter, init)


def _asgi_adapter(
    service: InferenceService, settings: InferenceSettings, observer: RequestObserver
) -> ApiGatewayAdapter:
    """The FastAPI app over the service, behind the Mangum adapter."""
    plane = DataPlane(service, observer, LambdaPayloadLimit(settings.max_response_bytes))
    return ApiGatewayAdapter(create_inference_app(plane, InferenceLimits(settings.max_body_bytes)))


def _observers(
    metrics_format: MetricsFormat, sink: RecordSink
) -> tuple[MetricRecordObserver, RequestObserver]:
    """The metric record line, and per-request CloudWatch metrics unless disabled."""
    if is_metrics_disabled():  # as Powertools decides (POWERTOOLS_METRICS_DISABLED, _DEV)
        records = MetricRecordObserver(sink=sink)  # Powertools would never clear
        return records, records
    if metrics_format == "line":
        records = MetricRecordObserver(sink=sink, emf=EmfSpec(metrics.namespace, SERVICE))
        return records, records
    records = MetricRecordObserver(sink=sink)
    return records, FanOutObserver([records, PowertoolsMetricsObserver(metrics)])


def record_init_time(init_ms: float) -> None:
    """The once-per-environment ``InitTime`` metric (flushed with the first request)."""
    if not is_metrics_disabled():
        metrics.add_metric("InitTime", MetricUnit.Milliseconds, init_ms)


@dataclass(frozen=True, slots=True)
class EntryPoint:
    """What the function's entry module holds."""

    handler: Handler
    function: Callable[[], InferenceHandler]
    """The function behind ``handler`` (the SnapStart hooks prime and restore it)."""


def entry_point(init: InitPhase | None) -> EntryPoint:
    """The function built over the entry module's init phase, begun during its imports.

    Without one (it could not start: invalid settings, say), the function is built on
    first use from the environment's settings (``on_first_use``).
    """
    if init is None:
        return on_first_use()
    function = build_inference_handler(init.settings, init=init)
    return EntryPoint(function.handler, lambda: function)


def on_first_use(record_sink: RecordSink = stdout_line) -> EntryPoint:
    """An inference function built when first used, from the environment's settings then;
    a failure is raised to that call (the invocation's error says why) and the next call
    tries again."""
    function = OnFirstUse(
        lambda: build_inference_handler(InferenceSettings(), record_sink=record_sink)
    )

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return function.get().handler(event, context)

    return EntryPoint(handler, function.get)
