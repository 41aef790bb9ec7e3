"""Child of the cold-start bench: a fresh interpreter serving its first request.

``python -m bench.cold_child EVENT_FILE`` imports the function's entry module as Lambda
does (``app`` from ``functions/inference``, which starts loading the default models and
then imports the handler), invokes the handler with the event (configured by
``LAYERSERVE_*`` like the function), and prints where the time went.
``python -m bench.cold_child imports`` prints the import cost of each dependency in turn.
Only the standard library is imported before the clock starts.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()
# As in bench.harness, which is not imported here: it would import modules before the clock.
RESULT_PREFIX = "BENCH-RESULT "
RESPONDED_MARK = "BENCH-RESPONDED"
FUNCTION_DIR = Path(__file__).resolve().parent.parent / "functions" / "inference"

IMPORT_STEPS = (
    ("numpy", ("numpy",)),
    ("onnxruntime", ("onnxruntime",)),
    ("pydantic, pydantic-settings", ("pydantic", "pydantic_settings")),
    ("fastapi, starlette", ("fastapi",)),
    ("mangum", ("mangum",)),
    ("aws-lambda-powertools", ("aws_lambda_powertools",)),
    ("layerserve handler module", ("layerserve.bootstrap.inference",)),
)


class FirstRun:
    """Wraps a loaded model and records how long its first ``run`` took."""

    def __init__(self, model: Any, record: dict[str, float]) -> None:
        self._model = model
        self._record = record

    def run(self, feeds: Any, output_names: list[str]) -> Any:
        if "first_run_s" in self._record:
            return self._model.run(feeds, output_names)
        started = time.perf_counter()
        outputs = self._model.run(feeds, output_names)
        self._record["first_run_s"] = time.perf_counter() - started
        return outputs

    @property
    def signature(self) -> Any:
        return self._model.signature


def _await_loading(module: Any, record: dict[str, float]) -> None:
    """Wait for the loading the entry module started; keep its timings; time the first run.

    The first call would wait for it just the same: waiting here only splits the time.
    """
    init = module.init
    if init is None:
        raise RuntimeError("the entry module did not start the init phase")
    started = time.perf_counter()
    init.wait()
    record["load_wait_s"] = time.perf_counter() - started
    for loaded in init.service.loader.loaded():
        record["fetch_s"] = record.get("fetch_s", 0.0) + loaded.timings.fetch_s
        record["unpack_s"] = record.get("unpack_s", 0.0) + loaded.timings.unpack_s
        record["session_s"] = record.get("session_s", 0.0) + loaded.timings.session_s
        loaded.model = FirstRun(loaded.model, record)


def cold_start(event_file: Path) -> dict[str, Any]:
    event = json.loads(event_file.read_text())
    record: dict[str, float] = {}
    started, cpu_started = time.perf_counter(), time.process_time()
    sys.path.insert(0, str(FUNCTION_DIR))  # /var/task in Lambda
    module = importlib.import_module("app")
    record["imports_s"] = time.perf_counter() - started
    record["imports_cpu_s"] = time.process_time() - cpu_started
    from layerserve.local.events import FakeLambdaContext

    _await_loading(module, record)
    started = time.perf_counter()
    response = module.handler(event, FakeLambdaContext())
    record["first_call_s"] = time.perf_counter() - started
    record["since_main_s"] = time.perf_counter() - STARTED
    record["cpu_s"] = time.process_time()  # CPU of all threads since the process started
    sys.stdout.write(RESPONDED_MARK + "\n")
    sys.stdout.flush()
    if response.get("statusCode") != 200:
        raise RuntimeError(f"first request failed: {str(response.get('body'))[:300]}")
    started = time.perf_counter()
    module.handler(event, FakeLambdaContext())
    record["second_call_s"] = time.perf_counter() - started
    return record


def import_steps() -> dict[str, Any]:
    steps: dict[str, float] = {}
    for label, modules in IMPORT_STEPS:
        started = time.perf_counter()
        for name in modules:
            importlib.import_module(name)
        steps[label] = time.perf_counter() - started
    return steps


def main(argv: list[str]) -> None:
    result = import_steps() if argv[0] == "imports" else cold_start(Path(argv[0]))
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
