"""``layerserve example`` and ``layerserve dev`` as ``make run`` uses them: a second run
changes nothing, and a taken port is one line and a non-zero exit before anything is written."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from layerserve.cli.main import app

runner = CliRunner()


def layerserve(*args: str | Path | int) -> Result:
    return runner.invoke(app, [str(arg) for arg in args])


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _one_line_error(result: Result, words: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and words in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def example_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("example")
    result = layerserve("example", "--out", out, "--versions", "2")
    assert result.exit_code == 0, result.output
    return out


def test_a_second_example_run_writes_the_same_bytes_and_touches_nothing(
    example_out: Path, tmp_path: Path
) -> None:
    before = _snapshot(example_out / "layer")
    assert set(before) == {
        "models/iris/1/manifest.json", "models/iris/1/model.onnx.zst",
        "models/iris/2/manifest.json", "models/iris/2/model.onnx.zst",
    }  # fmt: skip
    again = layerserve("example", "--out", example_out, "--versions", "2")
    assert again.exit_code == 0, again.output
    assert _snapshot(example_out / "layer") == before  # same bytes, not even rewritten
    elsewhere = layerserve("example", "--out", tmp_path, "--versions", "2")
    assert elsewhere.exit_code == 0, elsewhere.output
    fresh = {name: data for name, (data, _) in _snapshot(tmp_path / "layer").items()}
    assert fresh == {name: data for name, (data, _) in before.items()}


def test_a_different_version_in_place_is_refused_and_kept(tmp_path: Path) -> None:
    assert layerserve("example", "--out", tmp_path).exit_code == 0
    manifest = tmp_path / "layer" / "models" / "iris" / "1" / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"2024-01-01', b'"2023-01-01'))
    before = _snapshot(tmp_path / "layer")
    _one_line_error(layerserve("example", "--out", tmp_path), "versions are immutable")
    _one_line_error(layerserve("dev", "--models", tmp_path / "layer", "--example", "1"),
                    "versions are immutable")  # fmt: skip
    assert _snapshot(tmp_path / "layer") == before


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_dev_on_a_taken_port_fails_before_writing_anything(busy_port: int, tmp_path: Path) -> None:
    layer = tmp_path / "layer"
    result = layerserve("dev", "--models", layer, "--example", "2", "--port", busy_port)
    _one_line_error(result, f"port {busy_port} on 127.0.0.1 is in use")
    assert not layer.exists()


def test_dev_with_a_taken_aws_port_fails_at_once(busy_port: int, tmp_path: Path) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    result = layerserve("dev", "--models", tmp_path, "--port", port, "--aws-port", busy_port)
    _one_line_error(result, f"port {busy_port} on 127.0.0.1 is in use; choose another --aws-port")


def test_make_run_checks_its_ports_first(busy_port: int) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    check = [sys.executable, "-m", "layerserve.local.ports", f"PORT=127.0.0.1:{port}"]
    assert subprocess.run(check, capture_output=True, check=False).returncode == 0
    busy = subprocess.run(
        [*check, f"AWS_PORT=127.0.0.1:{busy_port}"], capture_output=True, text=True, check=False
    )
    assert busy.returncode == 1
    assert (
        busy.stderr == f"error: port {busy_port} on 127.0.0.1 is in use; choose another AWS_PORT=\n"
    )
