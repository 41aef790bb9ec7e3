"""Durations as people type them: ``90s``, ``10m``, ``1h``, ``1h30m``, ``7d``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

from layerserve.domain.errors import InvalidInputError

_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_PART: Final = re.compile(r"(\d+)([smhd])")
_WHOLE: Final = re.compile(r"(?:\d+[smhd])+")


MAX_SECONDS = 10 * 365 * 86400
"""Longer durations are never meaningful here (and overflow ``datetime`` arithmetic)."""


def parse_duration(text: str) -> timedelta:
    """``timedelta`` of a duration like ``1h30m``; ``InvalidInputError`` otherwise."""
    cleaned = text.strip().lower()
    if not _WHOLE.fullmatch(cleaned):
        raise InvalidInputError(
            f"'{text}' is not a duration: use a number and a unit s, m, h or d (e.g. 90s, 1h30m)"
        )
    seconds = sum(int(number) * _UNITS[unit] for number, unit in _PART.findall(cleaned))
    if seconds > MAX_SECONDS:
        raise InvalidInputError(f"'{text}' is longer than {MAX_SECONDS // 86400} days")
    return timedelta(seconds=seconds)


def format_duration(seconds: float) -> str:
    """The shortest exact form of whole seconds: ``600`` → ``10m``, ``5400`` → ``1h30m``."""
    remaining, parts = int(seconds), []
    for unit, size in sorted(_UNITS.items(), key=lambda item: -item[1]):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
