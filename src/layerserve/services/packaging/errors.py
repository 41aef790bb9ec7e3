"""Refusals specific to packaging (all ``LayerserveError`` subclasses)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from layerserve.domain.errors import (
    ClientError,
    ConflictError,
    InferenceFailedError,
    InvalidInputError,
    InvalidModelError,
)

if TYPE_CHECKING:
    from layerserve.services.packaging.agreement import OutputAgreement
    from layerserve.services.packaging.budget import BudgetReport


class VersionExistsError(ConflictError):
    """Versions are immutable: a packaged version is never silently replaced."""

    def __init__(self, name: str, version: str, path: Path) -> None:
        super().__init__(
            f"version '{version}' of model '{name}' already exists at {path}; versions are "
            "immutable, so pick a new version or replace it explicitly (--force)"
        )
        self.path = path


class QuantizationRejectedError(InvalidModelError):
    """The int8 model strayed too far from the original; carries the measured figures."""

    def __init__(self, message: str, figures: tuple[OutputAgreement, ...]) -> None:
        super().__init__(message)
        self.figures = figures


class LayerTooLargeError(ClientError):
    """The version cannot fit in a Lambda layer next to the runtime and the function."""

    def __init__(self, message: str, budget: BudgetReport) -> None:
        super().__init__(message)
        self.budget = budget


class SampleRunError(InferenceFailedError):
    """The model failed on sample inputs; ``node`` names the failing node when known."""

    def __init__(self, reason: str, node: str | None) -> None:
        super().__init__(f"model fails on the sample inputs: {reason}")
        self.reason = reason
        self.node = node


class SampleInputsError(InvalidInputError):
    """Generated (or supplied) samples do not suit the model: give others with --sample."""


class RuntimeCrashError(InvalidModelError):
    """onnxruntime crashed (the child process running it died) during one packaging step."""

    def __init__(self, step: str, how: str) -> None:
        what = "onnxruntime crashed" if how.startswith("SIG") else "the onnxruntime process ended"
        super().__init__(f"{what} ({how}) while {step}")
        self.step = step
        self.how = how


class NothingToQuantizeError(InvalidInputError):
    """``--quantize int8`` on a model int8 dynamic quantisation cannot change."""
