"""The small JSON objects written next to a result: the summary, or the error object."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from layerserve.domain.batch import InputFormat
from layerserve.domain.manifest import Manifest
from layerserve.services.batch.state import Job, Progress


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What one invocation did with one upload (returned by the handler, logged)."""

    status: str
    """``succeeded``, ``failed``, ``continued`` or ``ignored``."""
    bucket: str
    key: str
    output: str | None = None
    detail: str = ""
    records: int = 0
    errors: int = 0
    segment: int = 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def source_of(job: Job) -> dict[str, Any]:
    return {
        "bucket": job.bucket,
        "key": job.key,
        "version_id": job.version_id,
        "etag": job.etag,
        "size": job.size,
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def succeeded(
    job: Job,
    fmt: InputFormat,
    manifest: Manifest,
    progress: Progress,
    result_key: str,
    batch_size: int,
) -> dict[str, Any]:
    counts = progress.counts
    return {
        "status": "succeeded",
        "source": source_of(job),
        "model_name": manifest.name,
        "model_version": manifest.version,
        "model_sha256": manifest.onnx.sha256,
        "ref": job.ref,
        "format": fmt.value,
        "result_key": result_key,
        "records": counts.records,
        "ok": counts.ok,
        "errors": counts.errors,
        "error_samples": [sample.model_dump() for sample in counts.error_samples],
        "batches": counts.batches,
        "batch_size": batch_size,
        "invocations": progress.segment,
        "parts": progress.parts,
        "result_bytes": progress.written,
        "timings": {
            "wall_s": round(time.time() - progress.started_at, 6),
            "infer_s": round(counts.infer_s, 6),
            "upload_s": round(counts.upload_s, 6),
        },
        "finished_at": _now(),
    }


def failed(job: Job, progress: Progress, message: str) -> dict[str, Any]:
    return {
        "status": "failed",
        "error": message,
        "source": source_of(job),
        "model_name": job.model,
        "ref": job.ref,
        "model_version": job.model_version,
        "invocations": progress.segment,
        "finished_at": _now(),
    }
