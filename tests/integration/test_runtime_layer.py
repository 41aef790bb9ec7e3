"""The runtime layer recipe (layers/runtime) and a smoke test of what it builds.

The slow test runs the same make target ``sam build`` calls, for x86_64, into tmp_path
(wheels come from PyPI), then imports the result with CPython 3.12 alone and answers API
Gateway events through the real handler (infra/smoke.sh). The fast tests drive the
recipe's helper scripts on small fixtures.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import onnx_builders
from tests.packaged import package

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "layers" / "runtime"
MiB = 1024 * 1024
EM_X86_64, EM_AARCH64 = 62, 183


def python312() -> str | None:
    """A CPython 3.12 interpreter, as the recipe and infra/smoke.sh look for it."""
    on_path = shutil.which("python3.12")
    if on_path and subprocess.run([on_path, "-c", ""], capture_output=True).returncode == 0:
        return on_path
    found = (Path.home() / ".pyenv" / "versions").glob("3.12.*/bin/python3.12")
    newest = max(
        found, key=lambda path: [int(n) for n in re.findall(r"\d+", path.parts[-3])], default=None
    )
    return None if newest is None else str(newest)


def script(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(RECIPE / name), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def fake_elf(path: Path, machine: int) -> Path:
    """The first bytes of a little-endian ELF64 shared object for ``machine``."""
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    header[16:18] = (3).to_bytes(2, "little")  # ET_DYN
    header[18:20] = machine.to_bytes(2, "little")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(header))
    return path


# --- helper scripts -------------------------------------------------------------------
def test_deps_prints_the_pinned_runtime_dependencies() -> None:
    result = script("deps.py", ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stderr
    names = {line.split("==")[0] for line in result.stdout.split()}
    assert {"onnxruntime", "numpy", "fastapi", "mangum", "aws-lambda-powertools"} <= names
    assert not names & {"boto3", "botocore", "onnx", "typer", "moto"}


@pytest.mark.parametrize(
    ("dependency", "message"),
    [("boto3==1.44.5", "provided by Lambda"), ("numpy>=2", "not pinned")],
)
def test_deps_refuses_what_must_not_ship(tmp_path: Path, dependency: str, message: str) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        f'[project]\nname = "x"\ndependencies = ["orjson==3.13.0", "{dependency}"]\n'
    )
    result = script("deps.py", pyproject)
    assert result.returncode == 1
    assert message in result.stderr


def test_sam_arch_reads_the_build_plan(tmp_path: Path) -> None:
    artifacts = tmp_path / "build" / "RuntimeLayer"
    assert script("sam_arch.py", artifacts).stdout == ""  # no plan: the Makefile defaults
    (tmp_path / "build.toml").write_text(
        '[layer_build_definitions.abc]\nlayer_name = "RuntimeLayer"\narchitecture = "arm64"\n'
    )
    assert script("sam_arch.py", artifacts).stdout == "arm64\n"


def test_trim_drops_what_the_runtime_never_loads(tmp_path: Path) -> None:
    layer = tmp_path / "python"
    kept = ["pkg/__init__.py", "pkg-1.0.dist-info/METADATA", "onnxruntime/capi/__init__.py"]
    dropped = [
        "pkg/__init__.pyi",
        "pkg/tests/test_pkg.py",
        "pkg-1.0.dist-info/RECORD",
        "onnxruntime/tools/convert.py",
        "onnxruntime/quantization/quantize.py",
        "bin/dotenv",
    ]
    for name in kept + dropped:
        (layer / name).parent.mkdir(parents=True, exist_ok=True)
        (layer / name).write_text("x = 1\n")
    odd = fake_elf(layer / "pkg" / "_ext.so", EM_X86_64)  # strip refuses it: left intact
    result = script("trim.py", "--arch", "x86_64", layer)
    assert result.returncode == 0, result.stderr
    assert all((layer / name).exists() for name in kept)
    assert not any((layer / name).exists() for name in dropped)
    assert odd.read_bytes()[:4] == b"\x7fELF"
    assert "runtime layer trimmed" in result.stdout


def test_trim_refuses_objects_of_another_architecture(tmp_path: Path) -> None:
    fake_elf(tmp_path / "python" / "pkg" / "_ext.so", EM_AARCH64)
    result = script("trim.py", "--arch", "x86_64", tmp_path / "python")
    assert result.returncode == 1
    assert "pkg/_ext.so is not built for x86_64" in result.stderr


# --- the real build -------------------------------------------------------------------
@pytest.mark.slow
def test_runtime_layer_builds_and_serves_with_python312(tmp_path: Path) -> None:
    interpreter = python312()
    if interpreter is None:
        pytest.skip("no CPython 3.12 (Lambda's version) to import the built layer with")
    artifacts, scratch = tmp_path / "RuntimeLayer", tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, "ARTIFACTS_DIR": str(artifacts), "PYTHON": sys.executable}
    env.update(ARCH="x86_64", PYTHON312=interpreter)
    build = subprocess.run(
        ["make", "-f", str(RECIPE / "Makefile"), "build-RuntimeLayer"],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]

    python = artifacts / "python"
    size = sum(path.stat().st_size for path in python.rglob("*") if path.is_file())
    assert 60 * MiB < size < 200 * MiB, f"runtime layer is {size / MiB:.1f} MiB"
    assert (python / "layerserve" / "__init__.py").is_file()
    assert (python / "onnxruntime" / "capi").is_dir()
    assert not (python / "onnxruntime" / "tools").exists()
    assert not list(python.glob("boto*")) and not (python / "onnx").exists()
    assert not list(python.rglob("tests"))
    assert list((python / "layerserve" / "__pycache__").glob("*.cpython-312.pyc"))

    models = tmp_path / "models-layer"
    package(onnx_builders.mlp(), models, "mlp", "1")
    smoke = subprocess.run(
        [
            "bash",
            str(ROOT / "infra" / "smoke.sh"),
            artifacts,
            ROOT / "functions" / "inference",
            models,
        ],
        env={**os.environ, "PYTHON312": interpreter},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert smoke.returncode == 0, smoke.stdout[-3000:] + smoke.stderr[-3000:]
    assert "smoke ok: python 3.12" in smoke.stdout
    assert "mlp v1 -> scores" in smoke.stdout
