"""The packaging toolkit with every onnxruntime step in a child process.

onnxruntime can crash the process it runs in (a segfault in a kernel or an optimiser
pass on some models). The packager's steps run in a child instead, so such a crash
becomes ``RuntimeCrashError`` naming the step, and a fresh child takes the next step.
Children come from a fork server that has imported onnx and onnxruntime once, so each
one starts in milliseconds.
"""

from __future__ import annotations

import itertools
import multiprocessing
import signal
import sys
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any

import numpy as np

from layerserve.adapters.onnx_graph.toolkit import OnnxModel, OnnxToolkit
from layerserve.domain.errors import InvalidModelError, LayerserveError
from layerserve.domain.manifest import SessionSettings
from layerserve.services.packaging.errors import RuntimeCrashError
from layerserve.services.packaging.ports import Arrays, ModelFacts

_WORKER = "layerserve.adapters.onnx_graph.isolated"


def _context() -> Any:
    """The fork server imports the main module once, so that children need not run it
    again each (as a script, it must guard its work with ``if __name__ == "__main__"``)."""
    if sys.platform == "linux":
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["__main__", _WORKER])
        return context
    return multiprocessing.get_context("spawn")


def _serve(conn: Connection, make_toolkit: Callable[[], OnnxToolkit]) -> None:
    """The child: run each command on an in-process toolkit until the pipe closes."""
    toolkit = make_toolkit()
    models: dict[int, OnnxModel] = {}
    ids = itertools.count()
    while True:
        try:
            command, args = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", _execute(toolkit, models, ids, command, args)))
        except LayerserveError as exc:
            conn.send(("error", (type(exc), exc.args, vars(exc))))


def _execute(
    toolkit: OnnxToolkit,
    models: dict[int, OnnxModel],
    ids: itertools.count[int],
    command: str,
    args: tuple[Any, ...],
) -> Any:
    if command == "load":
        handle = next(ids)
        models.clear()  # one session at a time: a packaging step runs a model right after
        models[handle] = toolkit.load(*args)  # opening it, so older ones only hold memory
        return handle, models[handle].facts
    if command == "run":
        handle, feeds = args
        if handle not in models:
            raise InvalidModelError("a model is run after a newer one was opened")
        return models[handle].run(feeds)
    if command in ("optimize", "quantize_int8"):
        models.clear()  # a transformation follows the last model's runs
        return getattr(toolkit, command)(*args)
    raise ValueError(f"unknown command {command!r}")


def _rebuilt(kind: type[LayerserveError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = kind.__new__(kind)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


def _how(process: BaseProcess) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"SIG{-code}"
    return f"exit code {code}"


class _Child:
    def __init__(self, make_toolkit: Callable[[], OnnxToolkit]) -> None:
        context = _context()
        self.conn, theirs = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=_serve, args=(theirs, make_toolkit), daemon=True
        )
        self.process.start()
        theirs.close()

    def call(self, step: str, command: str, *args: Any) -> Any:
        try:
            self.conn.send((command, args))
            status, payload = self.conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self.process.join(timeout=5)
            raise RuntimeCrashError(step, _how(self.process)) from None
        if status == "error":
            raise _rebuilt(*payload)
        return payload

    def close(self) -> None:
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class RemoteModel:
    """A model whose session lives in the child that opened it."""

    def __init__(self, owner: IsolatedToolkit, child: _Child, handle: int, facts: ModelFacts):
        self._owner, self._child, self._handle, self._facts = owner, child, handle, facts

    @property
    def facts(self) -> ModelFacts:
        return self._facts

    def run(self, feeds: Mapping[str, np.ndarray[Any, Any]]) -> Arrays:
        if self._child is not self._owner.child_or_none():
            raise RuntimeCrashError("running the model", "its process was replaced")
        result: Arrays = self._owner.call(
            "running the sample inputs", "run", self._handle, dict(feeds)
        )
        return result


class IsolatedToolkit:
    """``ModelToolkit`` whose onnxruntime steps (load check, sample runs, optimisation,
    quantisation) run in a child process; use it as a context manager.

    ``make_toolkit`` (importable, e.g. a class) builds the child's in-process toolkit."""

    def __init__(self, make_toolkit: Callable[[], OnnxToolkit] = OnnxToolkit) -> None:
        self._make_toolkit = make_toolkit
        self._child: _Child | None = None

    def __enter__(self) -> IsolatedToolkit:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def child_or_none(self) -> _Child | None:
        return self._child

    def call(self, step: str, command: str, *args: Any) -> Any:
        if self._child is None:
            self._child = _Child(self._make_toolkit)
        try:
            return self._child.call(step, command, *args)
        except RuntimeCrashError:
            self._child.close()
            self._child = None  # the next step gets a fresh process
            raise

    def portable(self, data: bytes) -> tuple[bytes, tuple[str, ...]]:
        return OnnxToolkit().portable(data)  # the onnx package only: no onnxruntime

    def load(self, data: bytes, settings: SessionSettings | None = None) -> RemoteModel:
        chosen = settings or SessionSettings()
        handle, facts = self.call("loading the model", "load", data, chosen)
        assert self._child is not None
        return RemoteModel(self, self._child, handle, facts)

    def optimize(self, data: bytes) -> bytes:
        result: bytes = self.call("optimising the graph offline", "optimize", data)
        return result

    def quantize_int8(self, data: bytes) -> bytes:
        result: bytes = self.call("quantising to int8", "quantize_int8", data)
        return result

    def close(self) -> None:
        if self._child is not None:
            self._child.close()
            self._child = None
