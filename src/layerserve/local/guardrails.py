"""The guardrail schedule of the local stack: policy presets and a readable report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from layerserve.domain.guardrails import CanaryPolicy

POLICIES: Final[dict[str, CanaryPolicy]] = {
    "fast": CanaryPolicy(
        steps=(10, 50, 100),
        bake_seconds=30,
        min_samples=100,
        max_error_rate_increase=0.02,
        max_p99_ratio=3.0,
        max_psi=0.25,
    ),
    "standard": CanaryPolicy(),
}
"""``fast`` decides within a minute or two of local traffic; ``standard`` is the default."""


class GuardrailReport:
    """Prints each move, each failure, and each hold whose kind differs from the last."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._last: dict[tuple[str, str], str] = {}

    def show(self, result: dict[str, Any]) -> None:
        for outcome in result.get("outcomes", []):
            key = (outcome["model"], outcome["alias"])
            action, reason = outcome.get("action"), outcome.get("reason") or ""
            if outcome.get("error"):
                line = f"{action or 'no decision'}, not applied: {outcome['error']}"
            elif action == "hold":
                kind = reason.split(":", 1)[0]
                if self._last.get(key) == kind:
                    continue
                self._last[key] = kind
                line = f"hold: {reason}"
            else:
                self._last.pop(key, None)
                line = f"{action}: {reason}"
            self._say(f"guardrails {key[0]}/{key[1]} {line}")
