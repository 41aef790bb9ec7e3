"""The batch use case: an uploaded object in, a result object and a summary out."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import orjson

from layerserve.domain.batch import BatchLayout, InputFormat, InputKey, ObjectVersion, input_format
from layerserve.domain.errors import ClientError, LayerserveError, is_retryable
from layerserve.services.batch import summary
from layerserve.services.batch.array_pipeline import run_arrays
from layerserve.services.batch.execute import BatchExecutor
from layerserve.services.batch.pipelines import Segment, SegmentLimits, run_lines
from layerserve.services.batch.ports import (
    Clock,
    Continuer,
    ObjectReader,
    ObjectWriter,
)
from layerserve.services.batch.sink import PartSink
from layerserve.services.batch.state import Continuation, Job, Progress, new_job
from layerserve.services.batch.summary import JobOutcome
from layerserve.services.catalog import Resolution
from layerserve.services.inference import InferenceService

logger = logging.getLogger(__name__)


def ends_the_job(exc: BaseException) -> bool:
    """A failure no retry can fix ends the job with an error object; the rest (outages,
    bugs) fail the invocation so Lambda retries it and finally dead-letters the event."""
    return not is_retryable(exc)


_CONTENT_TYPES = {"jsonl": "application/x-ndjson", "npz": "application/octet-stream"}


@dataclass(frozen=True, slots=True)
class BatchOptions:
    batch_size: int = 256
    part_bytes: int = 8 * 1024 * 1024
    max_line_bytes: int = 8 * 1024 * 1024
    max_batch_bytes: int = 64 * 1024 * 1024
    read_chunk_bytes: int = 1024 * 1024
    reserve_s: float = 60.0

    @property
    def limits(self) -> SegmentLimits:
        return SegmentLimits(
            self.batch_size,
            self.max_line_bytes,
            self.max_batch_bytes,
            self.read_chunk_bytes,
            self.reserve_s,
        )


class BatchService:
    def __init__(
        self,
        inference: InferenceService,
        reader: ObjectReader,
        writer: ObjectWriter,
        layout: BatchLayout,
        options: BatchOptions,
    ) -> None:
        self._inference = inference
        self._reader = reader
        self._writer = writer
        self.layout = layout
        self.options = options

    def accepts(self, source: ObjectVersion) -> bool:
        """Whether ``source`` is an input object (anything else is ignored)."""
        return self.layout.parse(source.key) is not None

    def plan(self, source: ObjectVersion) -> Continuation | None:
        """The first segment of the job for an upload (``None``: not an input object).

        The model version is resolved here, once per upload, and pinned for the whole job:
        the entry point stores the plan, so every retry and redelivery of the upload's
        event reuses it (a promote in between changes nothing), and continuations carry
        it in their payload. A failure no retry can fix is planned too: the job then
        only writes its error object."""
        upload = self.layout.parse(source.key)
        if upload is None:
            return None
        job = new_job(source, upload.model, upload.ref)
        try:
            input_format(source.key)
            resolution = self._inference.resolve(upload.model, upload.ref, source.routing_key)
        except LayerserveError as exc:
            if not ends_the_job(exc):
                raise
            job.failure = exc.message
        else:
            job.model_version = resolution.record.version
        return Continuation(job=job, progress=Progress())

    def run(self, continuation: Continuation, clock: Clock, continuer: Continuer) -> JobOutcome:
        """Process one segment; finish the job or hand the rest to ``continuer``."""
        job = continuation.job
        progress = continuation.progress.model_copy(deep=True)
        progress.started_at = progress.started_at or time.time()
        upload = self.layout.parse(job.key)
        if upload is None:
            return JobOutcome("ignored", job.bucket, job.key, detail="not an input object")
        try:
            fmt, resolution = self._prepare(job)
        except LayerserveError as exc:
            if not ends_the_job(exc):
                raise
            return self._fail(job, upload, progress, exc.message)
        manifest = resolution.record.manifest
        result_key = self.layout.result_key(upload, fmt)
        sink = PartSink(
            self._writer,
            job.bucket,
            result_key,
            _CONTENT_TYPES[fmt.result_extension],
            self.options.part_bytes,
            progress,
        )
        try:
            finished = self._segment(job, fmt, resolution, progress, sink, clock)
            if not finished:
                following = progress.model_copy(update={"segment": progress.segment + 1})
                continuer.schedule(
                    Continuation(job=job, progress=following).model_dump(mode="json")
                )
        except BaseException as exc:
            if isinstance(exc, LayerserveError) and ends_the_job(exc):
                _quietly(sink, only_if_created_here=False)
                return self._fail(job, upload, progress, exc.message)
            _quietly(sink, only_if_created_here=True)
            raise
        if not finished:
            return _outcome("continued", job, progress, result_key, "continues in a new invocation")
        document = summary.succeeded(
            job, fmt, manifest, progress, result_key, self.options.batch_size
        )
        self._put_json(job.bucket, self.layout.summary_key(upload), document)
        return _outcome("succeeded", job, progress, result_key)

    def _prepare(self, job: Job) -> tuple[InputFormat, Resolution]:
        """The format and the pinned, loaded model version; file-level errors raise."""
        if job.failure is not None:
            raise ClientError(job.failure)
        fmt = input_format(job.key)
        resolution = self._inference.resolve(job.model, job.model_version)
        self._inference.ensure_ready(resolution)
        return fmt, resolution

    def _segment(
        self,
        job: Job,
        fmt: InputFormat,
        resolution: Resolution,
        progress: Progress,
        sink: PartSink,
        clock: Clock,
    ) -> bool:
        executor = BatchExecutor(self._inference, resolution)
        manifest = resolution.record.manifest
        segment = Segment(
            job, fmt, progress, sink, executor, manifest, self._reader, self.options.limits, clock
        )
        try:
            finished = run_arrays(segment) if fmt.is_array else run_lines(segment)
        finally:
            progress.counts.infer_s += executor.infer_s
        if finished:
            sink.finish()
        return finished

    def _fail(self, job: Job, upload: InputKey, progress: Progress, message: str) -> JobOutcome:
        error_key = self.layout.error_key(upload)
        self._put_json(job.bucket, error_key, summary.failed(job, progress, message))
        return _outcome("failed", job, progress, error_key, message)

    def _put_json(self, bucket: str, key: str, document: dict[str, object]) -> None:
        body = orjson.dumps(document, option=orjson.OPT_INDENT_2)
        self._writer.put(bucket, key, body, "application/json")


def _outcome(
    status: str, job: Job, progress: Progress, output: str, detail: str = ""
) -> JobOutcome:
    counts = progress.counts
    return JobOutcome(
        status, job.bucket, job.key, output, detail, counts.records, counts.errors, progress.segment
    )


def _quietly(sink: PartSink, *, only_if_created_here: bool) -> None:
    """Abort the upload if we should; a failure here must not hide the original error
    (the bucket's lifecycle rule removes incomplete uploads)."""
    try:
        sink.abort(only_if_created_here=only_if_created_here)
    except LayerserveError as exc:
        logger.warning("could not abort the upload of %s: %s", sink.key, exc.message)
