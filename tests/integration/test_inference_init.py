"""The inference function's entry module starts loading the default models before the
handler's imports, and the handler's first call serves with what was loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast

import pytest

from layerserve.bootstrap.inference_init import InitPhase
from layerserve.services.inference import InferenceService
from layerserve.settings import InferenceSettings

ROOT = Path(__file__).resolve().parents[2]
FRESH_ENVIRONMENT = """
import json, sys, threading, time
sys.path.insert(0, sys.argv[1])  # /var/task in Lambda
from layerserve.bootstrap import inference_init

release = threading.Event()
real_preload = inference_init.InitPhase.preload
def held_preload(self):  # still loading when the first request arrives
    release.wait(30)
    real_preload(self)
inference_init.InitPhase.preload = held_preload

import app  # the entry module, as Lambda imports it
from layerserve.local.events import FakeLambdaContext, http_api_event

init = app.init
started_on_thread = init is not None and init.thread is not None and init.thread.is_alive()
body = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 16],
                               "data": [0.5] * 16}]}).encode()
threading.Timer(0.3, release.set).start()
started = time.perf_counter()
response = app.handler(http_api_event("POST", "/v2/models/mlp/infer", body), FakeLambdaContext())
print(json.dumps({
    "started_on_thread": started_on_thread,
    "first_call_s": time.perf_counter() - started,
    "loaded_after_call_started": init.ready_at > started,
    "serves_its_service": app.inference.function().service is init.service,
    "loaded": sorted(f"{l.record.model}/{l.record.version}" for l in init.service.loader.loaded()),
    "status": response["statusCode"],
}))
"""

BROKEN_SETTINGS = """
import sys
sys.path.insert(0, sys.argv[1])
import json
import app  # must import even though the settings are invalid
from layerserve.local.events import FakeLambdaContext, http_api_event

failures = []
for _ in range(2):  # each call tries again, and says why it cannot serve
    try:
        app.handler(http_api_event("GET", "/v2/health/ready"), FakeLambdaContext())
    except Exception as exc:
        failures.append(type(exc).__name__)
print(json.dumps({"started": app.init is not None, "failures": failures}))
"""


def _fresh_environment(
    models_root: Path, scratch: Path, script: str = FRESH_ENVIRONMENT, **extra: str
) -> tuple[dict[str, Any], str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "LAYERSERVE_MODELS_DIR": str(models_root),
        "LAYERSERVE_SCRATCH_DIR": str(scratch),
        "LAYERSERVE_MAX_LOADED_MODELS": "64",
        "POWERTOOLS_METRICS_DISABLED": "true",
        **extra,
    }
    command = [sys.executable, "-c", script, str(ROOT / "functions" / "inference")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result, done.stderr


def test_entry_module_preloads_on_a_thread_and_the_handler_serves_with_it(
    models_root: Path, tmp_path: Path
) -> None:
    result, _ = _fresh_environment(models_root, tmp_path / "scratch")
    assert result["started_on_thread"] and result["serves_its_service"]
    assert result["status"] == 200
    assert result["loaded_after_call_started"]  # so the first call waited for the thread
    assert {"addmul/2", "mlp/1", "echo/1"} <= set(result["loaded"])


def test_an_init_phase_that_cannot_start_does_not_fail_the_import_but_each_call(
    models_root: Path, tmp_path: Path
) -> None:
    script = BROKEN_SETTINGS
    result, stderr = _fresh_environment(
        models_root, tmp_path / "scratch", script, LAYERSERVE_MAX_LOADED_MODELS="0"
    )
    assert result == {"started": False, "failures": ["ValidationError", "ValidationError"]}
    assert "the init phase failed; the first request retries it" in stderr


class _Unreachable:
    """A service whose storage is down while preloading."""

    def server_ready(self) -> bool:
        raise ConnectionError("storage unreachable")


def test_a_failed_preload_is_logged_and_left_to_the_first_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = cast(InferenceService, _Unreachable())
    init = InitPhase(InferenceSettings(preload="default"), service, time.perf_counter())
    assert init.wait() >= 0.0
    assert init.ready_at is not None
    assert "preloading the default models failed" in caplog.text
