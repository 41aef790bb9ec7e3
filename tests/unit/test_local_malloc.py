"""``layerserve dev`` limits glibc's malloc arenas unless the environment already chose."""

from __future__ import annotations

import ctypes
import platform

import pytest

from layerserve.local.malloc import limit_arenas


def test_the_environment_s_choice_stands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_arenas() is False


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_takes_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert hasattr(ctypes.CDLL(None), "mallopt")
    assert limit_arenas() is True
