"""The inference function's init phase, overlapped with the import of its web stack.

In Lambda, the init phase (importing the handler module) is part of every cold start.
Importing FastAPI, Starlette, Powertools and Mangum is a few hundred milliseconds of
pure Python; verifying, decompressing and opening the default models takes ~200 ms for
a MiniLM-sized model, spent mostly in C code that releases the GIL (sha256, zstd,
onnxruntime). So the function's entry module (``functions/inference/app.py``) first calls
``start_in_background()``, which reads the settings, wires the service and starts
loading the default versions on a thread, and only then imports the handler; the
handler's first call waits for the loading to finish. Measured in bench/README.md.

Outside that entry module (tests, the local stack) nothing starts early: the handler
builds its service on its first call, loading synchronously, as before.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from layerserve.bootstrap import build_inference_service
from layerserve.services.inference import InferenceService
from layerserve.settings import InferenceSettings

log = logging.getLogger(__name__)


@dataclass(slots=True)
class InitPhase:
    """Settings and service of one execution environment, and its preloading."""

    settings: InferenceSettings
    service: InferenceService
    started: float
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
        """Block until preloading is over; milliseconds from the start of the init."""
        if self.thread is not None:
            self.thread.join()
        if self.ready_at is None:
            self.preload()
        assert self.ready_at is not None  # preload always sets it
        return (self.ready_at - self.started) * 1000.0


def begin(background: bool) -> InitPhase:
    """Read the settings and wire the service; preload now, or on a daemon thread."""
    started = time.perf_counter()
    settings = InferenceSettings()
    service = build_inference_service(settings, preload=False)
    init = InitPhase(settings, service, started)
    if background:
        init.thread = threading.Thread(target=init.preload, name="preload", daemon=True)
        init.thread.start()
    else:
        init.preload()
    return init


_started: InitPhase | None = None


def start_in_background() -> None:
    """Start the init phase of this execution environment (once).

    A failure here (invalid settings, no AWS client) must not fail the import: the
    handler's first call builds everything again and reports it as before.
    """
    global _started
    if _started is not None:
        return
    try:
        _started = begin(background=True)
    except Exception:
        log.exception("the init phase failed; the first request retries it")


def started() -> InitPhase | None:
    """The init phase ``start_in_background`` began, if not yet handed over."""
    return _started


def take_started() -> InitPhase | None:
    """The init phase ``start_in_background`` began, handed over once."""
    global _started
    init, _started = _started, None
    return init
