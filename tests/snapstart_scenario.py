"""One simulated SnapStart publication and its restores, in a process of its own.

``python -m tests.snapstart_scenario SCENARIO.json`` takes a snapshot of the inference
function (configured by the ``LAYERSERVE_*`` variables the test sets), optionally
promotes a version in the registry after the snapshot, restores the children and prints
one JSON line: the snapshot's timings and, per child, its report. The scenario file:
``{"event": {...}, "children": 3, "choices_of": "addmul" | null,
"promote_after_snapshot": ["mlp", "2"] | null}``.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from layerserve.local.snapstart import restore, take_snapshot

FUNCTION_DIR = Path(__file__).resolve().parents[1] / "functions" / "inference"
CHOICES = 32


def _promote(model: str, version: str) -> None:
    """What a deployer's ``layerserve promote`` does, through the registry service."""
    import boto3

    from layerserve.adapters.dynamodb_registry import DynamoDBRegistry
    from layerserve.services.registry import Promote, RegistryService

    store = DynamoDBRegistry(os.environ["LAYERSERVE_REGISTRY_TABLE"], boto3.client("dynamodb"))
    service = RegistryService(store)
    alias = service.models.get(model).default_alias
    service.aliases.promote(model, alias, Promote(version=version), "tests")


def _choices(model: str) -> list[str]:
    """Unkeyed canary choices of this environment's catalog."""
    entry = sys.modules["app"]  # the function's entry module, imported by the snapshot
    service = entry.inference.function().service
    return [service.resolve(model, None).record.version for _ in range(CHOICES)]


def main(path: str) -> None:
    scenario: dict[str, Any] = json.loads(Path(path).read_text())
    snapshot = take_snapshot(FUNCTION_DIR)
    if scenario.get("promote_after_snapshot"):
        _promote(*scenario["promote_after_snapshot"])
    model = scenario.get("choices_of")
    probe = (lambda: _choices(model)) if model else None
    children = restore(snapshot, scenario["event"], scenario.get("children", 3), probe)
    result = {
        "import_s": snapshot.import_s,
        "hooks_s": snapshot.hooks_s,
        "children": [asdict(child) for child in children],
    }
    sys.stdout.write("SCENARIO " + json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
