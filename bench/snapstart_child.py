"""Child of the SnapStart bench: one simulated publication and its restored environments.

``python -m bench.snapstart_child EVENT_FILE CHILDREN`` takes the snapshot of the inference
function (``layerserve.local.snapstart``: entry module imported with
``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``, then the before-snapshot hooks), forks
CHILDREN restored environments that each answer the event, and prints the primed init
time, each restore's figures (hooks, first answer, fork to answer, artifacts read and
sessions created after the restore), each restored environment's second answer (time,
CPU time, page faults) and whether every first answer equals the snapshot process's own
answer to the same event, asked after the restores.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from layerserve.local.events import FakeLambdaContext
from layerserve.local.snapstart import Snapshot, restore, take_snapshot

RESULT_PREFIX = "BENCH-RESULT "
FUNCTION_DIR = Path(__file__).resolve().parent.parent / "functions" / "inference"


def _artifact_reads(opened: list[str]) -> int:
    roots = (os.environ["LAYERSERVE_MODELS_DIR"], os.environ["LAYERSERVE_SCRATCH_DIR"])
    return sum(1 for path in opened if path.startswith(roots))


def _same_answer(response: dict[str, Any], reference: dict[str, Any]) -> bool:
    """Status 200 and the same outputs (to float rounding: a fork may run on fewer threads)."""
    import numpy as np

    if response["statusCode"] != 200 or reference["statusCode"] != 200:
        return False
    got, want = (json.loads(r["body"])["outputs"] for r in (response, reference))
    return [o["name"] for o in got] == [o["name"] for o in want] and all(
        np.allclose(a["data"], b["data"], rtol=1e-4, atol=1e-5)
        for a, b in zip(got, want, strict=True)
    )


def second_answer(snapshot: Snapshot, event: dict[str, Any]) -> Callable[[], dict[str, float]]:
    """A probe: the restored environment's second request, timed like the first."""

    def probe() -> dict[str, float]:
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        started, cpu_started = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):  # its metric lines
            snapshot.handler(event, FakeLambdaContext())
        return {
            "answer_s": time.perf_counter() - started,
            "cpu_s": time.process_time() - cpu_started,
            "page_faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults,
        }

    return probe


def main(event_file: str, children: int) -> None:
    event: dict[str, Any] = json.loads(Path(event_file).read_text())
    snapshot = take_snapshot(FUNCTION_DIR)
    restored = restore(snapshot, event, children, probe=second_answer(snapshot, event))

    reference = snapshot.handler(event, FakeLambdaContext())  # after the restores
    result = {
        "import_s": snapshot.import_s,
        "hooks_s": snapshot.hooks_s,
        "restores": [
            {
                "hooks_s": child.hooks_s,
                "answer_s": child.answer_s,
                "since_fork_s": child.since_fork_s,
                "since_fork_cpu_s": child.since_fork_cpu_s,
                "page_faults": child.page_faults,
                "artifact_reads": _artifact_reads(child.opened),
                "sessions_created": child.sessions_created,
                "correct": _same_answer(child.response, reference),
                "second": child.probe,
            }
            for child in restored
        ],
    }
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
