"""``python -m tests.zoo_report``: the zoo table (each model × mode, its outcome and the
int8 figures), from the same packaging, serving and comparison as the zoo tests."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests import zoo
from tests.zoo_serving import MODES, Outcome, compare, direct, package, packaged_onnx


def _handler(models_root: Path, scratch: Path) -> Any:
    from layerserve.bootstrap.inference import build_inference_handler
    from layerserve.local.events import FakeLambdaContext
    from layerserve.settings import InferenceSettings

    os.environ["POWERTOOLS_METRICS_NAMESPACE"] = "layerserve-zoo"
    settings = InferenceSettings(models_dir=models_root, scratch_dir=scratch)
    function = build_inference_handler(settings)
    return lambda event: function.handler(event, FakeLambdaContext())


def _row(outcome: Outcome) -> str:
    if outcome.exit_code != 0:
        return f"| {outcome.model} | {outcome.mode} | refused: `{outcome.refusal}` | | |"
    diffs = ", ".join(f"{k} {v:.3g}" for k, v in outcome.vs_original.items()) or "-"
    figures = ""
    gate = outcome.manifest.quantization if outcome.manifest else None
    if gate is not None:
        figures = "; ".join(
            f"{item.name}: worst {item.min_cosine_similarity:.5f}, p5 "
            f"{item.p5_cosine_similarity:.5f}, median {item.median_cosine_similarity:.5f}, "
            f"max abs {item.max_abs_error:.3g}"
            for item in gate.outputs
        )
    return (
        f"| {outcome.model} | {outcome.mode} | packaged; served vs direct "
        f"{outcome.served_vs_direct} | {diffs} | {figures} |"
    )


def main(argv: list[str]) -> None:
    """``--models`` adds the opt-in ones (full-size BERT, torch exports: needs torch)."""
    builders = list(zoo.ALL)
    if "--models" in argv:
        from tests.models.test_real_models import BUILDERS

        builders += list(BUILDERS.values())
    print("| model | mode | outcome | served vs original (max abs) | int8 gate (cosine per row) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="layerserve-zoo-") as tmp:
        for build in builders:
            model = build()
            folder = Path(tmp) / model.name
            layer = folder / "layer"
            (layer / "models").mkdir(parents=True)
            outcomes = [package(model, mode, folder, layer) for mode in MODES]
            invoke = _handler(layer / "models", folder / "scratch")  # over what was packaged
            reference = direct(packaged_onnx(layer, model.name, "default"), model.request)
            for outcome in outcomes:
                if outcome.exit_code == 0:
                    compare(outcome, model, layer, invoke, reference)
                print(_row(outcome))


if __name__ == "__main__":
    main(sys.argv[1:])
