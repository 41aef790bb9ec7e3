"""Lambda SnapStart, simulated on one machine: the snapshot is this process, a restore a fork.

``take_snapshot`` does what Lambda does when it publishes a SnapStart version: it sets
``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`` (and removes the log group and stream
variables SnapStart environments lack), imports the entry module as the runtime does,
then runs the before-snapshot hooks registered with ``snapshot_restore_py`` in the
runtime's order (the last registered first). ``restore`` then forks one child per
restored environment; each runs the after-restore hooks in registration order and
answers one event with the handler, and reports what it did after the "restore": the
files it opened (Python's ``open`` audit events), the onnxruntime sessions it created,
its stdout lines (metrics) and the response.

A fork pays copy-on-write faults where a snapshot restore pays page-ins, and the child
restarts no runtime: the simulation bounds the work of the restore path (hooks plus the
first request), it does not measure Lambda's restore. A fork also reseeds Python's
``random`` module, which a snapshot restore does not: the child puts back the state the
"snapshot" had, so only the hooks can make environments differ.

Call ``take_snapshot`` in a process of its own (it changes ``os.environ`` and
``sys.path``); POSIX only.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import random
import resource
import select
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from layerserve.local.events import FakeLambdaContext

INITIALIZATION_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE"
ABSENT_IN_SNAPSTART = ("AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME")
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Snapshot:
    handler: Handler
    import_s: float
    """Importing the entry module (the init phase Lambda runs on publication)."""
    hooks_s: float
    """The before-snapshot hooks (priming)."""

    @property
    def init_s(self) -> float:
        return self.import_s + self.hooks_s


@dataclass(frozen=True, slots=True)
class Restored:
    """What one restored environment did, from its after-restore hooks to its answer."""

    hooks_s: float
    answer_s: float
    """The first invocation, after the hooks."""
    since_fork_s: float
    """From the fork to the answer: copy-on-write faults, hooks and the first invocation."""
    since_fork_cpu_s: float
    """The same span in this environment's own CPU time (a forked child's CPU clock starts
    at zero; page faults count as system time): what waiting for a core leaves out."""
    page_faults: int
    """Minor page faults from the fork to the answer (copy-on-write and first touches):
    the same on a busy machine as on a quiet one."""
    response: dict[str, Any]
    opened: list[str]
    sessions_created: int
    stdout: list[str]
    probe: Any


def take_snapshot(function_dir: Path, handler: str = "app.handler") -> Snapshot:
    """Initialise the function as Lambda does for a snapshot; ``handler`` as in the template."""
    os.environ[INITIALIZATION_TYPE] = "snap-start"
    for name in ABSENT_IN_SNAPSTART:
        os.environ.pop(name, None)
    sys.path.insert(0, str(function_dir))  # /var/task
    module_name, attribute = handler.rsplit(".", 1)
    started = time.perf_counter()
    module = importlib.import_module(module_name)
    imported = time.perf_counter()
    run_before_snapshot()
    done = time.perf_counter()
    return Snapshot(getattr(module, attribute), imported - started, done - imported)


def run_before_snapshot() -> None:
    """The runtime's order: the hook registered last runs first."""
    from snapshot_restore_py import get_before_snapshot

    hooks = get_before_snapshot()
    while hooks:
        function, args, kwargs = hooks.pop()
        function(*args, **kwargs)


def run_after_restore() -> None:
    """The runtime's order: registration order."""
    from snapshot_restore_py import get_after_restore

    for function, args, kwargs in get_after_restore():
        function(*args, **kwargs)


def restore(
    snapshot: Snapshot,
    event: dict[str, Any],
    children: int = 3,
    probe: Callable[[], Any] | None = None,
    timeout_s: float = 60.0,
) -> list[Restored]:
    """Restore ``children`` environments one after the other; each answers ``event``.

    ``probe`` runs in each child after its answer; its JSON-serialisable result is kept.
    """
    state = random.getstate()
    return [_restore_one(snapshot, event, probe, state, timeout_s) for _ in range(children)]


def _restore_one(
    snapshot: Snapshot,
    event: dict[str, Any],
    probe: Callable[[], Any] | None,
    state: Any,
    timeout_s: float,
) -> Restored:
    read_end, write_end = os.pipe()
    forked = time.perf_counter()
    with warnings.catch_warnings():  # "multi-threaded process": onnxruntime's idle pool
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the restored environment
        os.close(read_end)
        _child(snapshot, event, probe, state, forked, write_end)
    os.close(write_end)
    try:
        payload = _read_all(read_end, pid, timeout_s)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    result = json.loads(payload)
    if "error" in result:
        raise RuntimeError(f"restored environment failed:\n{result['error']}")
    return Restored(**result)


def _child(
    snapshot: Snapshot,
    event: dict[str, Any],
    probe: Callable[[], Any] | None,
    state: Any,
    forked: float,
    write_end: int,
) -> None:
    """Never returns: reports through ``write_end`` and leaves with ``os._exit``."""
    try:
        random.setstate(state)  # a snapshot restores memory as it was: no reseeding
        report = _restored(snapshot, event, probe, forked)
        payload = json.dumps(asdict(report))
    except BaseException:
        payload = json.dumps({"error": traceback.format_exc()})
    try:
        with os.fdopen(write_end, "w") as out:
            out.write(payload)
    finally:
        os._exit(0)


def _restored(
    snapshot: Snapshot, event: dict[str, Any], probe: Callable[[], Any] | None, forked: float
) -> Restored:
    opened: list[str] = []
    sys.addaudithook(lambda name, args: opened.append(str(args[0])) if name == "open" else None)
    sessions = _count_sessions()
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        started = time.perf_counter()
        run_after_restore()
        hooked = time.perf_counter()
        response = snapshot.handler(event, FakeLambdaContext())
        answered, answered_cpu = time.perf_counter(), time.process_time()
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt  # a child's start at 0
    after_answer = list(opened)  # the probe's own reads are its business
    return Restored(
        hooks_s=hooked - started,
        answer_s=answered - hooked,
        since_fork_s=answered - forked,
        since_fork_cpu_s=answered_cpu,
        page_faults=faults,
        response=response,
        opened=after_answer,
        sessions_created=sessions(),
        stdout=stdout.getvalue().splitlines(),
        probe=probe() if probe is not None else None,
    )


def _count_sessions() -> Callable[[], int]:
    """Counts onnxruntime sessions created from now on in this process."""
    created = [0]
    onnxruntime = sys.modules.get("onnxruntime")
    if onnxruntime is None:
        return lambda: 0
    session_class = onnxruntime.InferenceSession
    original = session_class.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        created[0] += 1
        original(self, *args, **kwargs)

    session_class.__init__ = counting
    return lambda: created[0]


def _read_all(fd: int, pid: int, timeout_s: float) -> str:
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(remaining, 0.0))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            raise TimeoutError(f"restored environment {pid} did not answer in {timeout_s} s")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks).decode()
        chunks.append(chunk)
