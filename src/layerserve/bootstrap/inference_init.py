"""The inference function's init phase, overlapped with the import of its web stack.

In Lambda, the init phase (importing the handler module) is part of every cold start.
Importing FastAPI, Starlette, Powertools and Mangum is a few hundred milliseconds of
pure Python; verifying, decompressing and opening the default models takes ~200 ms for
a MiniLM-sized model, spent mostly in C code that releases the GIL (sha256, zstd,
onnxruntime). So the function's entry module (``functions/inference/app.py``) first calls
``start_in_background()``, which reads the settings, wires the service and starts
loading the default versions on a thread, and only then imports the web stack and builds
the handler over that init phase (``bootstrap.inference``); the handler's first call waits
for the loading to finish. Measured in bench/README.md.

Elsewhere (tests, the local stack) nothing starts early: ``begin(background=False)`` wires
the service and leaves the loading to the handler's first call.

This module imports no web framework: it must be importable before that stack.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from layerserve.bootstrap.inference_service import build_inference_service
from layerserve.services.inference import InferenceService
from layerserve.settings import InferenceSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)


@dataclass(slots=True)
class InitPhase:
    """Settings and service of one execution environment, and its preloading."""

    settings: InferenceSettings
    service: InferenceService
    started: float
    """``time.perf_counter()`` when the init phase began (before the settings were read)."""
    wiring_s: float = 0.0
    """Reading the settings and wiring the service."""
    ready_at: float | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    def preload(self) -> None:
        """Load the default versions (failures are remembered by the loader)."""
        try:
            if self.settings.preload == "default":
                self.service.server_ready()
        except Exception:  # transient (storage unreachable): the first request retries
            log.exception("preloading the default models failed")
        finally:
            self.ready_at = time.perf_counter()

    def wait(self) -> float:
        """Block until preloading is over; milliseconds from the start of the init.

        Without a thread the loading happens now; the init is its wiring and this loading
        (the time between, an environment waiting for its first request, is not init).
        """
        if self.thread is not None:
            self.thread.join()
        if self.ready_at is None:
            self.started = time.perf_counter() - self.wiring_s
            self.preload()
        assert self.ready_at is not None  # preload always sets it
        return (self.ready_at - self.started) * 1000.0


def begin(
    settings: InferenceSettings,
    *,
    dynamodb: DynamoDBClient | None = None,
    s3: S3Client | None = None,
    background: bool,
    started: float | None = None,
) -> InitPhase:
    """Wire the service; preload on a daemon thread, or leave it to the first ``wait()``."""
    started = time.perf_counter() if started is None else started
    service = build_inference_service(settings, dynamodb, s3, preload=False)
    init = InitPhase(settings, service, started, wiring_s=time.perf_counter() - started)
    if background:
        init.thread = threading.Thread(target=init.preload, name="preload", daemon=True)
        init.thread.start()
    return init


def start_in_background() -> InitPhase | None:
    """The entry module's init phase: settings from the environment, loading on a thread.

    A failure here (invalid settings, no AWS client) must not fail the import: it returns
    ``None`` and the handler's first call builds everything again and reports it as before.
    """
    started = time.perf_counter()
    try:
        return begin(InferenceSettings(), background=True, started=started)
    except Exception:
        log.exception("the init phase failed; the first request retries it")
        return None
