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

from layerserve.lambdas.inference_init import InitPhase
from layerserve.services.inference import InferenceService
from layerserve.settings import InferenceSettings

ROOT = Path(__file__).resolve().parents[2]
FRESH_ENVIRONMENT = """
import json, sys
sys.path.insert(0, sys.argv[1])  # /var/task in Lambda
import app  # the entry module, as Lambda imports it
from layerserve.lambdas import inference_init
from layerserve.local.events import FakeLambdaContext, http_api_event

init = inference_init.started()
started_on_thread = init is not None and init.thread is not None
init.wait()  # what the first call does; here to see what the thread loaded by itself
preloaded = sorted(f"{l.record.model}/{l.record.version}" for l in init.service.loader.loaded())
body = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 16],
                               "data": [0.5] * 16}]}).encode()
response = app.handler(http_api_event("POST", "/v2/models/mlp/infer", body), FakeLambdaContext())
print(json.dumps({
    "started_on_thread": started_on_thread,
    "handed_over": inference_init.started() is None,
    "preloaded": preloaded,
    "status": response["statusCode"],
}))
"""


def _fresh_environment(models_root: Path, scratch: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "LAYERSERVE_MODELS_DIR": str(models_root),
        "LAYERSERVE_SCRATCH_DIR": str(scratch),
        "LAYERSERVE_MAX_LOADED_MODELS": "64",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    command = [sys.executable, "-c", FRESH_ENVIRONMENT, str(ROOT / "functions" / "inference")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_entry_module_preloads_on_a_thread_and_the_handler_serves_with_it(
    models_root: Path, tmp_path: Path
) -> None:
    result = _fresh_environment(models_root, tmp_path / "scratch")
    assert result["started_on_thread"] and result["handed_over"]
    assert result["status"] == 200
    defaults = {"addmul/2", "mlp/1", "echo/1"}
    assert defaults <= set(result["preloaded"])


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
