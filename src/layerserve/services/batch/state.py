"""The state of a batch job: what it processes and how far it got.

Everything here is plain data that round-trips through JSON, because a job that
outlives one invocation hands this state to the next one in its payload.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from layerserve.domain.batch import ObjectVersion

PAYLOAD_TAG: Final = "layerserve-batch"
MAX_ERROR_SAMPLES: Final = 20
MAX_MESSAGE_CHARS: Final = 300


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Job(_State):
    """One upload and the model version pinned for it (``None`` when resolution failed)."""

    bucket: str
    key: str
    etag: str
    size: int = Field(ge=0)
    version_id: str | None = None
    model: str
    ref: str | None = None
    model_version: str | None = None
    failure: str | None = None
    """Why the job cannot run at all (unknown model, unsupported format, ...)."""

    @property
    def source(self) -> ObjectVersion:
        return ObjectVersion(self.bucket, self.key, self.etag, self.size, self.version_id)

    @property
    def object_version(self) -> str:
        return self.source.identity


class ErrorSample(_State):
    line: int
    message: str


class Counts(_State):
    records: int = 0
    ok: int = 0
    errors: int = 0
    batches: int = 0
    infer_s: float = 0.0
    upload_s: float = 0.0
    error_samples: list[ErrorSample] = Field(default_factory=list)

    def error(self, line: int, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(ErrorSample(line=line, message=message[:MAX_MESSAGE_CHARS]))


class ZipEntry(_State):
    name: str
    offset: int
    crc: int = 0
    size: int = 0


class ZipState(_State):
    """A ZIP archive written as a stream: finished members and the one being written."""

    entries: list[ZipEntry] = Field(default_factory=list)
    current: ZipEntry | None = None


class Progress(_State):
    """How far a job got; a segment starts from here and always at a part boundary."""

    segment: int = Field(default=1, ge=1)
    offset: int = Field(default=0, ge=0)
    """Next input byte (line formats)."""
    item: int = Field(default=0, ge=0)
    """Next input line (0-based) or array row."""
    pass_index: int = Field(default=0, ge=0)
    """Which model output an array job writes now (one ``.npz`` member per pass)."""
    upload_id: str | None = None
    parts: int = Field(default=0, ge=0)
    written: int = Field(default=0, ge=0)
    """Result bytes written so far (all parts)."""
    columns: int | None = None
    """CSV: the number of columns every row must have."""
    zip: ZipState | None = None
    member_dtype: str | None = None
    member_row_shape: list[int] | None = None
    """Arrays: what the ``.npy`` header of the member being written promised."""
    started_at: float = 0.0
    counts: Counts = Field(default_factory=Counts)


class Continuation(_State):
    """The payload of an invocation that carries on with a job."""

    kind: str = PAYLOAD_TAG
    job: Job
    progress: Progress

    def idempotency_data(self) -> dict[str, Any]:
        """What runs exactly once: one segment of one upload. The key is the upload and the
        segment, never the model version (pinned by the plan) nor the event time."""
        return {
            **upload_identity(self.job.source),
            "step": f"segment-{self.progress.segment}",
            "payload": self.model_dump(mode="json"),
        }


def upload_identity(source: ObjectVersion) -> dict[str, Any]:
    """What names one upload: its bucket, decoded key and version id (or ETag)."""
    return {"bucket": source.bucket, "key": source.key, "object_version": source.identity}


def plan_data(source: ObjectVersion) -> dict[str, Any]:
    """What the plan of an upload is keyed by (its identity) and made from (``source``)."""
    return {**upload_identity(source), "step": "plan", "source": asdict(source)}


def source_of_plan(data: dict[str, Any]) -> ObjectVersion:
    return ObjectVersion(**data["source"])


IDEMPOTENCY_KEY_JMESPATH: Final = "[bucket, key, object_version, step]"


def is_continuation(event: dict[str, Any]) -> bool:
    return event.get("kind") == PAYLOAD_TAG


def new_job(source: ObjectVersion, model: str, ref: str | None) -> Job:
    return Job(
        bucket=source.bucket,
        key=source.key,
        etag=source.etag,
        size=source.size,
        version_id=source.version_id,
        model=model,
        ref=ref,
    )
