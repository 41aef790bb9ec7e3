"""Every CLI command fails with one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import NoCredentialsError
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner, Result

from layerserve.cli.extra import CLI_EXTRA_HINT
from layerserve.cli.failures import describe
from layerserve.cli.main import app, run
from tests import onnx_builders
from tests.batch_support import fake_credentials
from tests.packaged import package

runner = CliRunner()
BUCKET = "uploads-that-exist"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    fake_credentials(monkeypatch)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture(scope="module")
def version_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    layer = tmp_path_factory.mktemp("layer")
    package(onnx_builders.add_mul(), layer, "addmul", "1")
    return layer / "models" / "addmul" / "1"


def assert_one_line(result: Result, *expected: str) -> str:
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def test_every_registry_command_against_an_unreachable_endpoint(version_dir: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    commands = [
        ["register", str(version_dir)],
        ["promote", "addmul", "1"],
        ["canary", "addmul", "1", "--weight", "10"],
        ["canary", "addmul", "1", "--weight", "10", "--guard", "--bake", "1m"],
        ["rollback", "addmul"],
        ["archive", "addmul", "1"],
        ["status"],
        ["status", "addmul"],
        ["history", "addmul"],
        ["metrics", "addmul", "--version", "1"],
    ]
    for command in commands:
        result = runner.invoke(app, [*command, "--endpoint", url])
        assert_one_line(result, f"cannot reach {url}")


def test_an_endpoint_without_a_scheme_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYERSERVE_ENDPOINT", "127.0.0.1:18080")
    for command in (["status"], ["promote", "m", "1"], ["metrics", "m"]):
        result = runner.invoke(app, command)
        assert_one_line(result, "needs a scheme", "http://127.0.0.1:18080")


def test_batch_against_an_unreachable_s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_credentials(monkeypatch)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    rows = tmp_path / "rows.jsonl"
    rows.write_text("[1, 2]\n")
    url = f"http://127.0.0.1:{closed_port()}"
    result = runner.invoke(app, ["batch", str(rows), "--model", "m", "--endpoint-url", url])
    assert_one_line(result, "cannot upload rows.jsonl to s3://layerserve-uploads/", "cannot reach")


def test_batch_and_register_with_a_wrong_bucket(
    s3_endpoint: str, version_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text("[1, 2]\n")
    batch = ["batch", str(rows), "--model", "m", "--endpoint-url", s3_endpoint]
    result = runner.invoke(app, [*batch, "--bucket", "no-such-bucket"])
    assert_one_line(result, "s3://no-such-bucket/", "NoSuchBucket", "--bucket")

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    registry = f"http://127.0.0.1:{closed_port()}"
    register = ["register", str(version_dir), "--s3", "--bucket", "no-such-bucket"]
    result = runner.invoke(app, [*register, "--endpoint", registry])
    assert_one_line(result, "no-such-bucket", "NoSuchBucket")


def test_local_failures_are_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing.onnx"
    result = runner.invoke(
        app, ["package", str(missing), "--name", "m", "--version", "1", "--out", str(tmp_path)]
    )
    assert_one_line(result, "missing.onnx")
    result = runner.invoke(app, ["batch", str(tmp_path / "rows.csv"), "--model", "m"])
    assert_one_line(result, "is not a file")
    (tmp_path / "rows.txt").write_text("x")
    result = runner.invoke(app, ["batch", str(tmp_path / "rows.txt"), "--model", "m"])
    assert_one_line(result)


def test_unexpected_errors_are_one_line_too() -> None:
    message = describe(KeyError("boom\nsecond line"))
    assert message.startswith("unexpected KeyError") and "\n" not in message
    assert "LAYERSERVE_DEBUG=1" in message


def test_the_console_script_names_the_missing_extra() -> None:
    """Without the ``cli`` extra (typer cannot be imported), one line says what to install."""
    code = (
        "import sys; sys.modules['typer'] = None\nfrom layerserve.cli.entry import main\nmain()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert done.stderr == f"layerserve: {CLI_EXTRA_HINT}\n"
    assert "pip install 'layerserve[cli]'" in CLI_EXTRA_HINT


def test_the_console_script_runs_the_app() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from layerserve.cli.entry import main; main()", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and "batch" in done.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["batch"], "Missing argument 'file'"),
        (["nosuch"], "No such command 'nosuch'"),
        (["canary", "m", "1", "--weight", "200"], "--weight"),
        (["status", "--endpoint", "http://127.0.0.1:1"], "cannot reach http://127.0.0.1:1"),
    ],
)
def test_the_console_script_prints_usage_errors_in_one_line(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run(args)
    assert exited.value.code in (1, 2)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and expected in err, err


def test_the_console_script_exits_zero_on_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run(["status", "--help"])
    assert exited.value.code == 0 and "--endpoint" in capsys.readouterr().out


def test_missing_credentials_say_what_to_set() -> None:
    message = describe(NoCredentialsError())
    assert message.startswith("no AWS credentials") and "AWS_ACCESS_KEY_ID" in message


def test_dev_against_an_unreachable_aws_endpoint(version_dir: Path, tmp_path: Path) -> None:
    """``dev --external-aws`` with nothing behind AWS_ENDPOINT_URL: one line, no server."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }
    layer = version_dir.parents[2]
    args = ["dev", "--models", str(layer), "--external-aws", "--port", str(closed_port())]
    code = "import sys; from layerserve.cli.main import run; run(sys.argv[1:])"
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stdout + done.stderr
