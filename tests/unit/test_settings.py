"""Settings come from the environment as Lambda sets it."""

from __future__ import annotations

import pytest

from layerserve.settings import IN_MEMORY_UNPACK_CAP, InferenceSettings

MiB = 1024 * 1024


@pytest.mark.parametrize(
    ("memory_mb", "explicit", "limit"),
    [
        (None, None, IN_MEMORY_UNPACK_CAP),  # outside Lambda
        ("512", None, 128 * MiB),  # a quarter of the function's memory
        ("10240", None, IN_MEMORY_UNPACK_CAP),  # never above the cap by default
        ("512", "0", 0),  # always stream through scratch space
        ("512", str(600 * MiB), 600 * MiB),  # an explicit choice wins
    ],
)
def test_in_memory_unpack_limit_follows_the_functions_memory(
    monkeypatch: pytest.MonkeyPatch, memory_mb: str | None, explicit: str | None, limit: int
) -> None:
    for name, value in (
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb),
        ("LAYERSERVE_IN_MEMORY_UNPACK_MAX_BYTES", explicit),
    ):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert InferenceSettings().in_memory_unpack_limit() == limit
