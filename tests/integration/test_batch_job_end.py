"""How a job ends when it cannot run: a failure no retry can fix writes the error object
(and the invocation succeeds, so nothing is retried in vain); an outage fails the
invocation, so Lambda retries it, and the retry finishes the job."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from layerserve.domain.errors import ServiceUnavailableError
from tests.batch_support import batch_stack


def _broken_layer(models_root: Path, tmp_path: Path) -> Path:
    """``id-fp64`` as packaged, ``id-fp32`` with its artifact's bytes zeroed."""
    root = tmp_path / "models"
    for name in ("id-fp32", "id-fp64"):
        shutil.copytree(models_root / name, root / name)
    artifact = root / "id-fp32" / "1" / "model.onnx.zst"
    artifact.write_bytes(b"\0" * artifact.stat().st_size)
    return root


def test_a_model_that_fails_to_load_ends_in_the_error_object(
    models_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _broken_layer(models_root, tmp_path)
    with batch_stack(root, tmp_path / "scratch", monkeypatch) as stack:
        event = stack.upload("inputs/id-fp32/x.jsonl", b"[1, 2, 3]\n[4, 5, 6]\n")
        (outcome,) = stack.invoke(event)["outcomes"]  # does not raise: no retry would help
        assert outcome["status"] == "failed"
        error = stack.get_json("outputs/id-fp32/x.jsonl.error.json")
        assert "sha256" in error["error"] or "artifact" in error["error"]
        assert error["model_version"] == "1"
        (again,) = stack.invoke(event)["outcomes"]
        assert again["duplicate"] is True
        assert stack.counting_s3.writes_to("outputs/id-fp32/x.jsonl.error.json") == 1
        assert not [key for key in stack.keys("outputs/") if ".result." in key]
        # The other model of the same function is unaffected.
        (fine,) = stack.invoke(stack.upload("inputs/id-fp64/x.jsonl", b"[1, 2, 3]\n"))["outcomes"]
        assert fine["status"] == "succeeded"


def test_an_s3_read_outage_fails_the_invocation_then_the_retry_succeeds(
    models_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with batch_stack(models_root, tmp_path / "scratch", monkeypatch) as stack:
        event = stack.upload("inputs/id-fp32/x.jsonl", b"[1, 2, 3]\n[4, 5, 6]\n")

        def unreachable(name: str, kwargs: dict[str, Any]) -> None:
            if name == "get_object":
                raise EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")

        stack.counting_s3.fail = unreachable
        with pytest.raises(ServiceUnavailableError):
            stack.invoke(event)
        assert stack.keys("outputs/") == []
        stack.counting_s3.fail = None
        (outcome,) = stack.invoke(event)["outcomes"]
        assert (outcome["status"], outcome["records"], outcome.get("duplicate")) == (
            "succeeded",
            2,
            None,
        )
