"""The packaging use case: validate, transform, gate, measure, compress, write."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from layerserve.domain.errors import InferenceFailedError, InvalidModelError
from layerserve.domain.manifest import (
    GraphOptimizationLevel,
    QuantizationReport,
    SessionSettings,
    Signature,
)
from layerserve.services.packaging import agreement, artifact, budget
from layerserve.services.packaging.agreement import OutputAgreement
from layerserve.services.packaging.errors import (
    LayerTooLargeError,
    NothingToQuantizeError,
    RuntimeCrashError,
    SampleInputsError,
    SampleRunError,
)
from layerserve.services.packaging.ports import (
    Arrays,
    LoadedModel,
    ModelFacts,
    ModelToolkit,
    Progress,
    SilentProgress,
)
from layerserve.services.packaging.records import build_manifest
from layerserve.services.packaging.request import PackageReport, PackageRequest
from layerserve.services.packaging.samples import (
    check_samples,
    generate_samples,
    npz_form,
    sample_count,
    tried,
)


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


LEVELS: tuple[GraphOptimizationLevel, ...] = ("all", "extended", "basic", "disabled")
"""Session optimisation levels tried, highest first, until onnxruntime runs the model."""


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
        data, notes = self._toolkit.portable(data)
        start, samples, settings, fallbacks = self._verified(data, request)
        final, figures = self._transform(start, request, samples, settings)
        return self._finish(request, final, figures, settings, (*notes, *fallbacks))

    def _verified(
        self, data: bytes, request: PackageRequest
    ) -> tuple[_Candidate, Arrays, SessionSettings, tuple[str, ...]]:
        """The model opened and run on the samples at the highest session level that does
        not crash onnxruntime (or the level asked for), and a note per level that did."""
        pinned = request.graph_optimization_level
        levels = LEVELS if pinned is None else (pinned,)
        notes: list[str] = []
        for index, level in enumerate(levels):
            settings = SessionSettings(graph_optimization_level=level)
            try:
                start, samples = self._run_original(data, request, settings)
            except RuntimeCrashError as crash:
                if index + 1 == len(levels):
                    raise _crash_way_out(crash, level, pinned is not None) from None
                notes.append(
                    f"{crash.message} at session level {level}; trying level {levels[index + 1]}"
                )
                continue
            return start, samples, settings, tuple(notes)
        raise AssertionError("no session level to try")  # pragma: no cover

    def _run_original(
        self, data: bytes, request: PackageRequest, settings: SessionSettings
    ) -> tuple[_Candidate, Arrays]:
        level = settings.graph_optimization_level
        with self._progress.step(f"Validating the model (session level {level})"):
            model = self._toolkit.load(data, settings)
        facts = model.facts
        if request.quantize == "int8" and facts.int8_blocker:
            raise NothingToQuantizeError(f"nothing to quantise: {facts.int8_blocker}")
        samples = (
            generate_samples(facts.signature, facts.hints)
            if request.samples is None
            else check_samples(facts.signature, request.samples)
        )
        with self._progress.step("Running the sample inputs"):
            try:
                return _Candidate(data, model, model.run(samples)), samples
            except SampleRunError as exc:
                supplied = request.samples is not None
                raise _unsuitable(exc, facts, samples, supplied) from exc

    def _transform(
        self, start: _Candidate, request: PackageRequest, samples: Arrays, settings: SessionSettings
    ) -> tuple[_Candidate, _Figures]:
        """Quantise first (the optimiser then fuses the quantised ops), then optimise."""
        current, signature = start, start.model.facts.signature
        rows = sample_count(samples)
        if request.quantize == "int8":
            with self._progress.step("Quantising to int8"):
                data = _or_way_out(
                    lambda: self._toolkit.quantize_int8(current.data), "--quantize int8"
                )
                current = self._load(data, samples, signature, "int8", settings)
        optimization: tuple[OutputAgreement, ...] = ()
        if request.optimize:
            with self._progress.step("Optimising the graph (ORT_ENABLE_EXTENDED)"):
                data = _or_way_out(lambda: self._toolkit.optimize(current.data), "--optimize")
                before, current = (
                    current,
                    self._load(data, samples, signature, "optimised", settings),
                )
            optimization = agreement.compare(signature, before.outputs, current.outputs, rows)
        if request.quantize != "int8":
            return current, _Figures(optimization)
        # The gate judges what ships: the final model against the original.
        figures = agreement.compare(signature, start.outputs, current.outputs, rows)
        report = agreement.gate(figures, rows, request.min_cosine, request.max_abs_error)
        return current, _Figures(optimization, figures, report)

    def _load(
        self,
        data: bytes,
        samples: Arrays,
        expected: Signature,
        what: str,
        settings: SessionSettings,
    ) -> _Candidate:
        """Open a transformed model; it must keep the names and datatypes of the original."""
        option = "--quantize int8" if what == "int8" else "--optimize"
        try:
            model = self._toolkit.load(data, settings)
            outputs = model.run(samples)
        except RuntimeCrashError as crash:
            raise RuntimeCrashError(
                f"{crash.step} of the {what} model at session level "
                f"{settings.graph_optimization_level}; package without {option}, or with "
                "a lower --graph-optimization-level",
                crash.how,
            ) from None
        except (InvalidModelError, InferenceFailedError) as exc:
            raise InvalidModelError(
                f"the {what} model onnxruntime produced is unusable ({exc.message}); "
                f"package without {option}"
            ) from exc
        if _names_and_types(model.facts.signature) != _names_and_types(expected):
            raise InvalidModelError(f"the {what} model no longer has the original's signature")
        return _Candidate(data, model, outputs)

    def _finish(
        self,
        request: PackageRequest,
        final: _Candidate,
        figures: _Figures,
        settings: SessionSettings,
        notes: tuple[str, ...],
    ) -> PackageReport:
        with self._progress.step(f"Compressing with zstd level {request.zstd_level}"):
            compressed = artifact.compress(final.data, request.zstd_level)
        facts = final.model.facts
        manifest = build_manifest(
            request, final.data, compressed, facts, final.outputs, figures.report, self._clock()
        ).model_copy(update={"session": settings})
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
            warnings=(
                *notes,
                *budget.size_warnings(fit, others + fit.layer_bytes, manifest.onnx.size),
            ),
        )


def _crash_way_out(crash: RuntimeCrashError, level: str, pinned: bool) -> RuntimeCrashError:
    if pinned and level != "disabled":
        way_out = "try a lower --graph-optimization-level (extended, basic, disabled)"
    else:
        way_out = "it crashes at every session level, so onnxruntime cannot serve this model"
    return RuntimeCrashError(f"{crash.step} at session level {level}; {way_out}", crash.how)


def _or_way_out(step: Callable[[], bytes], option: str) -> bytes:
    try:
        return step()
    except RuntimeCrashError as crash:
        raise RuntimeCrashError(f"{crash.step}; package without {option}", crash.how) from None


def _unsuitable(
    exc: SampleRunError, facts: ModelFacts, samples: Arrays, supplied: bool
) -> SampleInputsError:
    """Which inputs reach the failing node, what was tried and how to give samples."""
    signature = facts.signature
    culprits = sorted(facts.reaches.get(exc.node or "", frozenset()))
    where = f"; the failing node reads input {', '.join(map(repr, culprits))}" if culprits else ""
    if supplied:
        return SampleInputsError(f"the model fails on the supplied samples: {exc.reason}{where}")
    named = set(culprits) or {spec.name for spec in signature.inputs}
    shown = Signature(
        inputs=tuple(spec for spec in signature.inputs if spec.name in named), outputs=()
    )
    return SampleInputsError(
        f"the model fails on the generated sample inputs: {exc.reason}{where}; tried "
        f"{tried(shown, samples, facts.hints)}; give inputs it accepts with {npz_form(signature)}"
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
