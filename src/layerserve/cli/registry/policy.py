"""The guardrail policy a deployer attaches to a canary, from command-line options."""

from __future__ import annotations

from typing import Any

from layerserve.domain.durations import parse_duration
from layerserve.domain.errors import InvalidInputError


def parse_steps(text: str) -> list[int]:
    """``"10,25,50,100"`` → ``[10, 25, 50, 100]``; the API checks that they increase."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise InvalidInputError(
            f"steps '{text}' must be comma-separated percentages like 10,25,50,100"
        ) from exc


def policy_body(
    *,
    guard: bool,
    steps: str | None = None,
    bake: str | None = None,
    min_samples: int | None = None,
    max_error_increase: float | None = None,
    max_p99_ratio: float | None = None,
    max_psi: float | None = None,
    max_rejection_increase: float | None = None,
) -> dict[str, Any] | None:
    """The ``policy`` of a canary request: the options given (the API fills the defaults),
    or ``None`` when neither ``guard`` nor any policy option asks for guardrails."""
    policy: dict[str, Any] = {
        key: value
        for key, value in (
            ("min_samples", min_samples),
            ("max_error_rate_increase", max_error_increase),
            ("max_p99_ratio", max_p99_ratio),
            ("max_psi", max_psi),
            ("max_rejection_rate_increase", max_rejection_increase),
        )
        if value is not None
    }
    if steps is not None:
        policy["steps"] = parse_steps(steps)
    if bake is not None:
        policy["bake_seconds"] = int(parse_duration(bake).total_seconds())
    return policy if policy or guard else None
