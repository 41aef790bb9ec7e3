"""The README's lines work as written: commands and flags exist, make targets, the client."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from layerserve.cli.example import write_example
from layerserve.cli.main import app
from layerserve.local.gateway import LocalGateway, Route
from tests.conftest import Invoke
from tests.servers import serving

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _fenced(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def _layerserve_lines() -> list[str]:
    """Every ``layerserve …`` line of the README's shell blocks and command table."""
    lines = [
        line.split("  #")[0].strip()
        for block in _fenced("bash")
        for line in block.replace("\\\n", " ").splitlines()
        if line.strip().startswith("layerserve ")
    ]
    lines += re.findall(r"\| `(layerserve [^`]+)`", README)
    return lines


def _options(command: str) -> set[str]:
    click_command = typer.main.get_command(app)
    found = click_command.commands[command]  # type: ignore[attr-defined]
    return {opt for param in found.params for opt in (*param.opts, *param.secondary_opts)}


def test_every_readme_command_and_flag_exists() -> None:
    lines = _layerserve_lines()
    assert len(lines) > 20
    for line in lines:
        words = shlex.split(line.replace("[", " ").replace("]", " ").replace("\\|", " "))
        command = words[1]
        known = _options(command)
        for flag in (word.split("=")[0] for word in words[2:] if word.startswith("-")):
            assert flag in known, f"{line}: {command} has no {flag}"


def _make(*args: str) -> str:
    done = subprocess.run(
        ["make", "-s", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def test_make_env_puts_layerserve_and_sam_on_path_and_names_the_stack() -> None:
    env = _make("env")
    assert env.startswith("export PATH=") and "/.venv/bin:" in env and "/.tools/sam/bin:" in env
    local = _make("local-env", "PORT=9000", "AWS_PORT=4570")
    assert "LAYERSERVE_ENDPOINT=http://127.0.0.1:9000" in local
    assert "AWS_ENDPOINT_URL=http://127.0.0.1:4570" in local
    assert 'eval "$(make -s local-env)"' in README


def test_make_run_fixes_the_emulator_port_and_says_how_to_reach_it() -> None:
    plan = _make("-n", "run", "PORT=9000")
    assert "--port 9000" in plan and "--aws-port 4566" in plan
    assert (
        "export LAYERSERVE_ENDPOINT=http://127.0.0.1:9000 AWS_ENDPOINT_URL=http://127.0.0.1:4566"
        in plan
    )
    assert 'eval "$(make -s local-env HOST=127.0.0.1 PORT=9000 AWS_PORT=4566)"' in plan
    assert "PORT=" in README and "AWS_PORT=" in README


@pytest.fixture(scope="module")
def models_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example iris model, as ``make run`` packages it."""
    out = tmp_path_factory.mktemp("example")
    write_example(out, "iris", "1")
    return out / "layer" / "models"


@pytest.fixture
def iris_address(inference_handler: Invoke) -> Iterator[str]:
    def handler(event: dict[str, object], context: object) -> dict[str, object]:
        return inference_handler(event)

    with serving(LocalGateway([Route("/v2", handler)])) as address:
        yield address


def test_the_tritonclient_example_prints_the_numbers(iris_address: str) -> None:
    (example,) = [block for block in _fenced("python") if "tritonclient" in block]
    assert '"127.0.0.1:8080"' in example
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(example.replace("127.0.0.1:8080", iris_address), {})
    # The handler runs in this process: its metric record lines (JSON) share stdout.
    lines = [line for line in printed.getvalue().splitlines() if not line.startswith("{")]
    assert lines[0] == "version 1"
    found = re.fullmatch(r"label \[(\d)\] probabilities \[\[(.*)\]\]", lines[1])
    assert found is not None, lines[1]
    label, probabilities = found.groups()
    numbers = [float(text) for text in probabilities.split()]
    assert label == "0" and len(numbers) == 3 and numbers[0] > 0.9  # a setosa, confidently
