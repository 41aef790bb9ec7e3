"""The limits a canary is held to, each comparing the canary's rollup with the stable one's.

Each check adds its figures to the decision's and returns a breach (a sentence) or
``None``. The rollups are what one alias route sent to each side during one step.

- **Errors** count the policy's ``error_kinds`` (server and model: never the caller's)
  over the requests that were not rejected as the caller's fault (4xx, kind
  ``client``), so rejected traffic neither raises nor dilutes the error rate.
- **Rejections** (the caller's errors) are reported; they breach only the optional
  ``max_rejection_rate_increase``, for users whose callers are trusted.
- **Latency** compares p99 like for like over request size classes
  (``domain.size_match``), so large requests steered to one side do not count as slowness.
- **Drift** compares the output histograms (PSI).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from layerserve.domain.drift import psi
from layerserve.domain.rollup import Rollup
from layerserve.domain.size_match import MIN_CLASS_SAMPLES, class_label, matched_quantile

if TYPE_CHECKING:
    from layerserve.domain.guardrails import CanaryPolicy, Figure

Figures = dict[str, "Figure"]
Check = Callable[["CanaryPolicy", Rollup, Rollup, Figures], "str | None"]
REJECTED: Final = "client"


def judged(rollup: Rollup) -> int:
    """Requests that were not rejected as the caller's fault: what the error rate is over."""
    return rollup.requests - rollup.errors.get(REJECTED, 0)


def breaches(policy: CanaryPolicy, canary: Rollup, stable: Rollup, figures: Figures) -> list[str]:
    checks: tuple[Check, ...] = (error_rate, rejection_rate, latency, drift)
    return [
        breach for check in checks if (breach := check(policy, canary, stable, figures)) is not None
    ]


def error_rate(
    policy: CanaryPolicy, canary: Rollup, stable: Rollup, figures: Figures
) -> str | None:
    canary_errors = canary.errors_of(policy.error_kinds)
    stable_errors = stable.errors_of(policy.error_kinds)
    canary_rate = canary_errors / max(judged(canary), 1)
    stable_rate = stable_errors / max(judged(stable), 1)
    increase = canary_rate - stable_rate
    ratio = canary_rate / stable_rate if stable_rate else (None if not canary_rate else "inf")
    figures.update(
        canary_errors=canary_errors,
        stable_errors=stable_errors,
        canary_error_rate=round(canary_rate, 6),
        stable_error_rate=round(stable_rate, 6),
        error_rate_increase=round(increase, 6),
        error_rate_ratio=round(ratio, 4) if isinstance(ratio, float) else ratio,
    )
    rates = f"error rate {canary_rate:.2%} vs stable {stable_rate:.2%}"
    limit = policy.max_error_rate_increase
    if limit is not None and increase > limit:
        return f"{rates}: increase {increase:.2%} exceeds {limit:.2%}"
    limit = policy.max_error_rate_ratio
    if limit is not None and canary_rate > limit * stable_rate:
        return f"{rates}: more than {limit:g}x stable"
    return None


def rejection_rate(
    policy: CanaryPolicy, canary: Rollup, stable: Rollup, figures: Figures
) -> str | None:
    canary_rate = canary.errors.get(REJECTED, 0) / max(canary.requests, 1)
    stable_rate = stable.errors.get(REJECTED, 0) / max(stable.requests, 1)
    increase = canary_rate - stable_rate
    figures.update(
        canary_rejection_rate=round(canary_rate, 6),
        stable_rejection_rate=round(stable_rate, 6),
        rejection_rate_increase=round(increase, 6),
    )
    limit = policy.max_rejection_rate_increase
    if limit is not None and increase > limit:
        return (
            f"rejection rate {canary_rate:.2%} vs stable {stable_rate:.2%}: "
            f"increase {increase:.2%} exceeds {limit:.2%}"
        )
    return None


def latency(policy: CanaryPolicy, canary: Rollup, stable: Rollup, figures: Figures) -> str | None:
    """p99 over the shared size classes, weighted like stable's traffic; the plain p99 of
    each side (every size, failures included) is reported beside it."""
    request = policy.latency == "request"
    plain = (canary.latency, stable.latency) if request else (canary.run, stable.run)
    sized = (
        (canary.sized_latency, stable.sized_latency)
        if request
        else (canary.sized_run, stable.sized_run)
    )
    figures.update(
        latency=policy.latency,
        canary_p99_ms=plain[0].quantile(0.99),
        stable_p99_ms=plain[1].quantile(0.99),
    )
    matched = matched_quantile(*sized, 0.99)
    if matched is None:
        figures.update(
            p99_ratio=None,
            p99_size_classes=f"none with {MIN_CLASS_SAMPLES} successful requests on both sides",
        )
        return None
    figures.update(
        canary_matched_p99_ms=round(matched.canary, 4),
        stable_matched_p99_ms=round(matched.stable, 4),
        p99_size_classes=",".join(class_label(size) for size in matched.classes),
        canary_p99_requests=matched.canary_requests,
        stable_p99_requests=matched.stable_requests,
    )
    if matched.stable <= 0:
        figures["p99_ratio"] = None
        return None
    ratio = matched.canary / matched.stable
    figures["p99_ratio"] = round(ratio, 4)
    limit = policy.max_p99_ratio
    if limit is not None and ratio > limit:
        return (
            f"p99 {policy.latency} latency {matched.canary:.1f} ms is {ratio:.2f}x stable "
            f"{matched.stable:.1f} ms on requests of the same sizes (limit {limit:g}x)"
        )
    return None


def drift(policy: CanaryPolicy, canary: Rollup, stable: Rollup, figures: Figures) -> str | None:
    scores = {
        name: score
        for name in sorted(canary.outputs.keys() & stable.outputs.keys())
        if (score := psi(stable.outputs[name], canary.outputs[name])) is not None
    }
    figures.update({f"psi_{name}": round(score, 4) for name, score in scores.items()})
    if not scores or policy.max_psi is None:
        return None
    worst = max(scores, key=scores.__getitem__)
    if scores[worst] > policy.max_psi:
        return f"output '{worst}' drifted from stable: PSI {scores[worst]:.3f} > {policy.max_psi:g}"
    return None
