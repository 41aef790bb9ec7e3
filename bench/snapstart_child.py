"""Child of the SnapStart bench: one simulated publication and its restored environments.

``python -m bench.snapstart_child EVENT_FILE CHILDREN`` takes the snapshot of the inference
function (``layerserve.local.snapstart``: entry module imported with
``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``, then the before-snapshot hooks), forks
CHILDREN restored environments that each answer the event, and prints the primed init
time, each restore's figures (hooks, first answer, fork to answer, artifacts read and
sessions created after the restore) and whether every answer equals the snapshot
process's own answer to the same event, asked after the restores.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from layerserve.local.snapstart import restore, take_snapshot

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


def main(event_file: str, children: int) -> None:
    event: dict[str, Any] = json.loads(Path(event_file).read_text())
    snapshot = take_snapshot(FUNCTION_DIR)
    restored = restore(snapshot, event, children)
    from layerserve.local.events import FakeLambdaContext

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
            }
            for child in restored
        ],
    }
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
