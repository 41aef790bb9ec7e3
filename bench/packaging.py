"""Packaging a real-shaped model, and what it costs to cold-start.

A BERT-shaped encoder with MiniLM-L6's dimensions and ``token_type_ids`` (FP32, ~90 MB;
``bench.models.bert_encoder``) is packaged by ``layerserve package`` in a fresh process
with the defaults only (no ``--sample``: the generated samples must suit it), then with
``--optimize --quantize int8``. Each run reports its wall time and the peak memory of
the whole process tree (CLI, fork server and the child that runs onnxruntime: PSS, so
pages they share count once), polled from ``/proc``. The int8 package is then
cold-started as ``bench.cold_start`` does, beside the synthetic MiniLM (no token types)
packaged the same way.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import onnx

from bench import cold_start, models
from layerserve.domain.manifest import Manifest

POLL_S = 0.05
MODES = {"defaults": (), "--optimize --quantize int8": ("--optimize", "--quantize", "int8")}


def _tree(root: int) -> list[int]:
    """``root`` and all its descendants, from ``/proc``."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue  # the process ended meanwhile
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _pss(pid: int) -> int:
    """Proportional set size: shared pages (a fork server's) counted once over the tree."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _tree_memory(root: int) -> int:
    return sum(_pss(pid) for pid in _tree(root))


def package_cli(model: Path, out: Path, options: tuple[str, ...]) -> tuple[float, int]:
    """Wall seconds and peak memory (PSS summed over the process tree) of one run."""
    command = [
        str(Path(sys.executable).with_name("layerserve")),
        "package", str(model), "--name", "bert", "--version", "1", "--out", str(out),
        "--force", *options,
    ]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_memory(process.pid))
        time.sleep(POLL_S)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        assert process.stderr is not None
        raise RuntimeError(f"layerserve package failed: {process.stderr.read().decode()}")
    return wall, peak


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="layerserve-pack-") as tmp:
        folder = Path(tmp)
        path = folder / "bert.onnx"
        onnx.save_model(models.bert_encoder(), str(path))
        size = path.stat().st_size / 2**20
        print(f"BERT-shaped encoder (MiniLM-L6 dimensions, token_type_ids): {size:.1f} MiB FP32")
        print(f"{'layerserve package':<32}{'wall s':>8}{'peak PSS MiB':>14}")
        for label, options in MODES.items():
            wall, peak = package_cli(path, folder / "layer", options)
            print(f"{label:<32}{wall:>8.2f}{peak / 2**20:>14.0f}")
        manifest = Manifest.from_json((folder / "layer/models/bert/1/manifest.json").read_bytes())
        gate = manifest.quantization
        if gate is not None:
            for item in gate.outputs:
                print(
                    f"  int8 {item.name}: worst row cosine {item.min_cosine_similarity:.6f}, "
                    f"p5 {item.p5_cosine_similarity:.6f}, "
                    f"median {item.median_cosine_similarity:.6f}, "
                    f"max abs error {item.max_abs_error:.4g} ({item.rows} rows)"
                )
        level = manifest.session.graph_optimization_level if manifest.session else "-"
        print(f"  session level verified and recorded: {level}")
        cold(folder)


def cold(folder: Path) -> None:
    """Session creation at cold start: the BERT package beside the synthetic MiniLM."""
    request = {
        "inputs": [
            {"name": name, "datatype": "INT64", "shape": list(array.shape), "data": array.tolist()}
            for name, array in models.bert_inputs(1, cold_start.SEQUENCE, seed=1).items()
        ],
        "outputs": [{"name": "sentence_embedding"}],
    }
    cases = {
        "BERT int8 optimized": (
            folder / "layer" / "models",
            cold_start.write_event(folder, "bert", request),
        ),
        "MiniLM int8 optimized": (
            models.minilm_layer(optimize=True) / "models",
            cold_start.write_event(folder, "minilm", cold_start.minilm_request()),
        ),
    }
    rows = cold_start.cold_rounds(cases, folder / "cold")
    print(f"\nCold start, median of {cold_start.RUNS} fresh processes (ms)")
    print(f"{'model':<24}{'session':>10}{'verify+unzstd':>15}{'first run':>11}{'total':>9}")
    for name, runs in rows.items():
        mid = cold_start.medians(runs)
        print(
            f"{name:<24}{mid['session_s'] * 1000:>10.1f}{mid['unpack_s'] * 1000:>15.1f}"
            f"{mid['first_run_s'] * 1000:>11.1f}{mid['wall_s'] * 1000:>9.1f}"
        )


if __name__ == "__main__":
    main()
