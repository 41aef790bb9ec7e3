"""What to package and how: validated before any slow step runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import TypeAdapter, ValidationError

from layerserve.domain.errors import InvalidInputError
from layerserve.domain.manifest import GraphOptimizationLevel, Manifest, Signature
from layerserve.services.packaging.agreement import OutputAgreement
from layerserve.services.packaging.budget import BudgetReport, LambdaBudget

ZSTD_LEVELS = range(1, 23)

_NAME = TypeAdapter(Annotated[str, Manifest.model_fields["name"]])
_VERSION = TypeAdapter(Annotated[str, Manifest.model_fields["version"]])


@dataclass(frozen=True, eq=False)
class PackageRequest:
    name: str
    version: str
    optimize: bool = False
    quantize: Literal["none", "int8"] = "none"
    zstd_level: int = 3
    min_cosine: float = 0.99
    max_abs_error: float | None = None
    samples: Mapping[str, np.ndarray[Any, Any]] | None = None
    force: bool = False
    allow_s3: bool = False
    budget: LambdaBudget = field(default_factory=LambdaBudget)
    graph_optimization_level: GraphOptimizationLevel | None = None
    """The session level to verify and record; None: the highest one that works."""

    def __post_init__(self) -> None:
        _check_identifier(_NAME, "model name", self.name, 128)
        _check_identifier(_VERSION, "version", self.version, 64)
        if self.zstd_level not in ZSTD_LEVELS:
            raise InvalidInputError(f"zstd level must be 1 to 22, not {self.zstd_level}")
        if not -1.0 <= self.min_cosine <= 1.0:
            raise InvalidInputError(f"minimum cosine must lie in [-1, 1], not {self.min_cosine}")
        if self.max_abs_error is not None and not self.max_abs_error >= 0:
            raise InvalidInputError(f"maximum abs error must be >= 0, not {self.max_abs_error}")


def _check_identifier(adapter: TypeAdapter[str], what: str, value: str, limit: int) -> None:
    try:
        adapter.validate_python(value)
    except ValidationError:
        raise InvalidInputError(
            f"invalid {what} '{value}': up to {limit} letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        ) from None


@dataclass(frozen=True, slots=True)
class PackageReport:
    """What was written and what was measured on the way."""

    manifest: Manifest
    version_dir: Path
    budget: BudgetReport
    layer_total_bytes: int
    storage: Literal["layer", "s3"]
    optimization: tuple[OutputAgreement, ...] = ()
    quantization: tuple[OutputAgreement, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def signature(self) -> Signature:
        return self.manifest.signature
