"""Version identifiers and their order."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PART = re.compile(r"(\d+)|(\D+)")


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order: ``2 < 10``, ``1.9 < 1.10``; numeric parts before text parts."""
    return tuple(
        (0, int(number)) if number else (1, text) for number, text in _PART.findall(version)
    )


def latest(versions: Iterable[str]) -> str | None:
    """The highest version in natural order, or ``None`` when there is none."""
    return max(versions, key=version_key, default=None)
