"""Lambda entry points build their handler on the first invocation, once, never at import,
and import only what their function needs."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest

from layerserve.bootstrap.lazy import Handler, LazyHandler

ENTRY_POINTS = """
import boto3, boto3.session

def refuse(*args, **kwargs):
    raise AssertionError("an AWS client was created at import")

boto3.client = boto3.session.Session.client = refuse
import layerserve.lambdas.registry, layerserve.lambdas.metrics, layerserve.lambdas.batch.handler
print("imported")
"""
SERVING_NO_MODEL = """
import sys
import layerserve.lambdas.registry, layerserve.lambdas.metrics
print("onnxruntime" in sys.modules)
"""
SERVING_NO_HTTP = """
import sys
import layerserve.lambdas.metrics
from layerserve.bootstrap.guardrails import build_guardrails_handler
print(sorted({"fastapi", "mangum", "starlette"} & set(sys.modules)))
"""


class Builds:
    """A ``build`` for ``LazyHandler`` that counts its calls and can fail."""

    def __init__(self, failures: int = 0) -> None:
        self.calls = 0
        self.failures = failures
        self.lock = threading.Lock()

    def __call__(self) -> Handler:
        with self.lock:
            self.calls += 1
            if self.calls <= self.failures:
                raise RuntimeError("a setting is missing")

        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            return {"event": event, "context": context}

        return handler


def test_nothing_is_built_until_the_first_invocation_and_then_once() -> None:
    builds = Builds()
    handler = LazyHandler(builds)
    assert builds.calls == 0
    threads = [threading.Thread(target=handler, args=({"n": n}, None)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert handler({"n": 9}, "ctx") == {"event": {"n": 9}, "context": "ctx"}
    assert builds.calls == 1


def test_a_failed_build_is_tried_again_on_the_next_invocation() -> None:
    builds = Builds(failures=1)
    handler = LazyHandler(builds)
    with pytest.raises(RuntimeError, match="a setting is missing"):
        handler({}, None)
    assert handler({}, None) == {"event": {}, "context": None}
    assert builds.calls == 2


def test_importing_the_entry_points_creates_no_aws_client() -> None:
    result = subprocess.run(
        [sys.executable, "-c", ENTRY_POINTS], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout.strip()) == (0, "imported"), result.stderr


def test_functions_that_serve_no_model_do_not_import_onnxruntime() -> None:
    """The registry and metrics cold starts skip it (the bootstrap package is lazy)."""
    result = subprocess.run(
        [sys.executable, "-c", SERVING_NO_MODEL], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout.strip()) == (0, "False"), result.stderr


def test_the_metrics_function_imports_no_web_stack() -> None:
    """Its guardrails run builds the registry service without the registry's HTTP API."""
    result = subprocess.run(
        [sys.executable, "-c", SERVING_NO_HTTP], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr
