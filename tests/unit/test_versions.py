from __future__ import annotations

from layerserve.domain.versions import latest, version_key


def test_natural_order() -> None:
    assert latest(["1", "2", "10"]) == "10"
    assert latest(["1.9", "1.10", "1.2"]) == "1.10"
    assert latest([]) is None
    assert version_key("2") < version_key("2a") < version_key("3")
