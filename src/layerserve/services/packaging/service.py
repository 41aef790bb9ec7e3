"""The packaging use case: validate, transform, gate, measure, compress, write."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from layerserve.domain.errors import InvalidModelError
from layerserve.domain.manifest import QuantizationReport, Signature
from layerserve.services.packaging import agreement, artifact, budget
from layerserve.services.packaging.agreement import OutputAgreement
from layerserve.services.packaging.errors import LayerTooLargeError
from layerserve.services.packaging.ports import (
    Arrays,
    LoadedModel,
    ModelToolkit,
    Progress,
    SilentProgress,
)
from layerserve.services.packaging.records import build_manifest
from layerserve.services.packaging.request import PackageReport, PackageRequest
from layerserve.services.packaging.samples import check_samples, generate_samples, sample_count


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Candidate:
    """The model as it stands after each transformation, with its sample outputs."""

    data: bytes
    model: LoadedModel
    outputs: Arrays


@dataclass(frozen=True, slots=True)
class _Figures:
    """What the transformations measured on the way to the final model."""

    optimization: tuple[OutputAgreement, ...] = ()
    quantization: tuple[OutputAgreement, ...] = ()
    report: QuantizationReport | None = None


class Packager:
    def __init__(
        self,
        toolkit: ModelToolkit,
        out_dir: Path,
        progress: Progress | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._toolkit = toolkit
        self._folder = artifact.LayerFolder(out_dir)
        self._progress = progress or SilentProgress()
        self._clock = clock

    def package(self, data: bytes, request: PackageRequest) -> PackageReport:
        self._folder.ensure_free(request.name, request.version, request.force)
        with self._progress.step("Validating the model"):
            original = self._toolkit.load(data)
        signature = original.facts.signature
        samples = (
            generate_samples(signature)
            if request.samples is None
            else check_samples(signature, request.samples)
        )
        with self._progress.step("Running the sample inputs"):
            start = _Candidate(data, original, original.run(samples))
        final, figures = self._transform(start, request, samples)
        return self._finish(request, final, figures)

    def _transform(
        self, start: _Candidate, request: PackageRequest, samples: Arrays
    ) -> tuple[_Candidate, _Figures]:
        """Quantise first (the optimiser then fuses the quantised ops), then optimise."""
        current, signature = start, start.model.facts.signature
        if request.quantize == "int8":
            with self._progress.step("Quantising to int8"):
                data = self._toolkit.quantize_int8(current.data)
                current = self._load(data, samples, signature, "int8")
        optimization: tuple[OutputAgreement, ...] = ()
        if request.optimize:
            with self._progress.step("Optimising the graph (ORT_ENABLE_EXTENDED)"):
                data = self._toolkit.optimize(current.data)
                before, current = current, self._load(data, samples, signature, "optimised")
            optimization = agreement.compare(signature, before.outputs, current.outputs)
        if request.quantize != "int8":
            return current, _Figures(optimization)
        # The gate judges what ships: the final model against the original.
        figures = agreement.compare(signature, start.outputs, current.outputs)
        report = agreement.gate(
            figures, sample_count(samples), request.min_cosine, request.max_abs_error
        )
        return current, _Figures(optimization, figures, report)

    def _load(self, data: bytes, samples: Arrays, expected: Signature, what: str) -> _Candidate:
        """Open a transformed model; it must keep the names and datatypes of the original."""
        model = self._toolkit.load(data)
        if _names_and_types(model.facts.signature) != _names_and_types(expected):
            raise InvalidModelError(f"the {what} model no longer has the original's signature")
        return _Candidate(data, model, model.run(samples))

    def _finish(
        self, request: PackageRequest, final: _Candidate, figures: _Figures
    ) -> PackageReport:
        with self._progress.step(f"Compressing with zstd level {request.zstd_level}"):
            compressed = artifact.compress(final.data, request.zstd_level)
        facts = final.model.facts
        manifest = build_manifest(
            request, final.data, compressed, facts, final.outputs, figures.report, self._clock()
        )
        encoded = manifest.to_json().encode()
        fit = budget.BudgetReport(len(compressed) + len(encoded), request.budget)
        if fit.verdict == "too_big" and not request.allow_s3:
            raise LayerTooLargeError(
                f"{fit.describe()}: too big for a layer, it must be stored in S3 instead", fit
            )
        others = self._folder.other_bytes(request.name, request.version)
        with self._progress.step("Writing the version"):
            folder = self._folder.write(
                request.name, request.version, compressed, encoded, request.force
            )
        return PackageReport(
            manifest=manifest,
            version_dir=folder,
            budget=fit,
            layer_total_bytes=others + fit.layer_bytes,
            storage="s3" if fit.verdict == "too_big" else "layer",
            optimization=figures.optimization,
            quantization=figures.quantization,
            warnings=budget.size_warnings(fit, others + fit.layer_bytes, manifest.onnx.size),
        )


def _names_and_types(signature: Signature) -> list[tuple[str, str]]:
    return [(spec.name, spec.datatype) for spec in (*signature.inputs, *signature.outputs)]


def package_model(
    data: bytes,
    request: PackageRequest,
    out_dir: Path,
    toolkit: ModelToolkit,
    progress: Progress | None = None,
) -> PackageReport:
    """Package ``data`` (ONNX bytes) into ``out_dir/models/<name>/<version>/``."""
    return Packager(toolkit, out_dir, progress).package(data, request)
