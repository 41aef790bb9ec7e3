"""Lambda's size budget: function code plus all layers must stay under 250 MiB unzipped."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

MB = 1024 * 1024
LAMBDA_UNZIPPED_LIMIT = 262_144_000
"""Lambda's limit for function code plus all its layers, unzipped (250 MiB: AWS says 250 MB)."""

TMP_DEFAULT = 512 * MB
"""Default ephemeral storage: where the artifact is decompressed at cold start."""

WARN_FRACTION = 0.8

Verdict = Literal["fits", "tight", "too_big"]


def mb(size: float) -> str:
    """A size for people: bytes, KiB or MiB."""
    if abs(size) < 1024:
        return f"{size:.0f} B"
    if abs(size) < MB:
        return f"{size / 1024:.1f} KiB"
    return f"{size / MB:.1f} MiB"


@dataclass(frozen=True, slots=True)
class LambdaBudget:
    """What else occupies the 250 MiB next to the model layer."""

    runtime_layer_bytes: int = 140 * MB
    function_code_bytes: int = 1 * MB

    @classmethod
    def from_mb(cls, runtime_layer_mb: float, function_code_mb: float) -> LambdaBudget:
        return cls(round(runtime_layer_mb * MB), round(function_code_mb * MB))

    @property
    def available_bytes(self) -> int:
        return LAMBDA_UNZIPPED_LIMIT - self.runtime_layer_bytes - self.function_code_bytes


@dataclass(frozen=True, slots=True)
class BudgetReport:
    layer_bytes: int
    budget: LambdaBudget

    @property
    def available_bytes(self) -> int:
        return self.budget.available_bytes

    @property
    def fraction(self) -> float:
        available = self.available_bytes
        return self.layer_bytes / available if available > 0 else math.inf

    @property
    def verdict(self) -> Verdict:
        if self.fraction > 1.0:
            return "too_big"
        return "tight" if self.fraction > WARN_FRACTION else "fits"

    def describe(self) -> str:
        return (
            f"model layer {mb(self.layer_bytes)} of the {mb(max(self.available_bytes, 0))} "
            f"that Lambda's 250 MiB unzipped limit leaves for it"
        )

    def breakdown(self) -> str:
        return (
            f"250 MiB - runtime layer {mb(self.budget.runtime_layer_bytes)} "
            f"- function code {mb(self.budget.function_code_bytes)}"
        )


def size_warnings(fit: BudgetReport, layer_total: int, onnx_size: int) -> tuple[str, ...]:
    """What a deployer should know about sizes: the layer, the whole folder, and /tmp."""
    found: list[str] = []
    if fit.verdict == "too_big":
        found.append(f"{fit.describe()}: too big for a layer, it must be stored in S3 instead")
    elif fit.verdict == "tight":
        found.append(f"{fit.describe()}: over {WARN_FRACTION:.0%} of what is left")
    if fit.verdict != "too_big" and layer_total > fit.available_bytes:
        found.append(
            f"the layer folder now holds {mb(layer_total)} in all versions, more than "
            f"the {mb(fit.available_bytes)} left; move some versions to S3"
        )
    if onnx_size > TMP_DEFAULT:
        found.append(
            f"the decompressed model ({mb(onnx_size)}) exceeds Lambda's default "
            f"{mb(TMP_DEFAULT)} of /tmp; raise the function's EphemeralStorage"
        )
    return tuple(found)
