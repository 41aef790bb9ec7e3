"""The manifest that travels with every packaged model version.

``layerserve package`` writes it next to the compressed artifact (file names and
folders: ``domain.layout``); the runtime and the registry read it. It is the single
description of a version's bytes and signature.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from layerserve.domain.layout import ARTIFACT_FILE

FORMAT_VERSION = 1

Dim = int | str | None
"""A tensor dimension: a fixed size, a symbolic name (dynamic), or unknown."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


V2Datatype = Literal[
    "BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64",
    "FP16", "FP32", "FP64", "BYTES",
]  # fmt: skip
MAX_RANK = 32


class TensorSpec(_Frozen):
    """One graph input or output: name, V2 datatype and shape (dynamic dims kept)."""

    name: str
    datatype: V2Datatype
    shape: tuple[Dim, ...] = Field(max_length=MAX_RANK)


class Signature(_Frozen):
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def input(self, name: str) -> TensorSpec | None:
        return next((spec for spec in self.inputs if spec.name == name), None)

    def output(self, name: str) -> TensorSpec | None:
        return next((spec for spec in self.outputs if spec.name == name), None)


class OnnxInfo(_Frozen):
    """Facts about the uncompressed ONNX bytes."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    ir_version: int
    opsets: dict[str, int]
    producer_name: str = ""
    producer_version: str = ""


class ArtifactInfo(_Frozen):
    """Facts about the compressed file that ships in the layer or in S3."""

    file: str = Field(default=ARTIFACT_FILE, pattern=r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,127}$")
    compression: Literal["zstd"] = "zstd"
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class PackagingOptions(_Frozen):
    optimize: bool = False
    quantize: Literal["none", "int8"] = "none"
    zstd_level: int = 3


GraphOptimizationLevel = Literal["disabled", "basic", "extended", "all"]
"""onnxruntime's graph optimisation levels, lowest first."""


class SessionSettings(_Frozen):
    """The onnxruntime session settings the packager verified the model with; the
    runtime creates its sessions with exactly these."""

    graph_optimization_level: GraphOptimizationLevel = "all"


class OutputQuantization(_Frozen):
    """One output of the int8 model against the original, sample row by sample row."""

    name: str
    rows: int
    min_cosine_similarity: float
    p5_cosine_similarity: float
    median_cosine_similarity: float
    max_abs_error: float
    aggregate_cosine_similarity: float
    """Over the whole flattened output: information only, the gate judges each row."""


class QuantizationReport(_Frozen):
    """How closely the quantised model agreed with the original on sample inputs.

    ``min_cosine_similarity`` is the worst sample row of any output (older manifests:
    the cosine over each whole output)."""

    samples: int
    min_cosine_similarity: float
    max_abs_error: float
    cosine_threshold: float
    max_abs_error_threshold: float | None = None
    outputs: tuple[OutputQuantization, ...] = ()


class OutputBaseline(_Frozen):
    """Summary of one output over the packaging samples (reference for drift)."""

    name: str
    mean: float
    std: float
    min: float
    max: float
    quantiles: dict[str, float] = Field(default_factory=dict)


class Manifest(_Frozen):
    format_version: int = FORMAT_VERSION
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
    onnx: OnnxInfo
    artifact: ArtifactInfo
    signature: Signature
    packaging: PackagingOptions = PackagingOptions()
    quantization: QuantizationReport | None = None
    session: SessionSettings | None = None
    """None in manifests written before the packager verified session settings: the
    runtime then uses its defaults (the highest optimisation level)."""
    baseline: tuple[OutputBaseline, ...] = ()
    created_at: datetime

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Manifest:
        return cls.model_validate_json(raw)
