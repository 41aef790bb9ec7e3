"""The result object as a stream of parts with deterministic boundaries.

A part is uploaded only at a checkpoint (the end of a batch) once at least
``part_bytes`` are buffered. Batches start at fixed record indexes, so part ``n`` holds
the same bytes in every attempt: a retried or continued job can overwrite parts and
still complete one correct object. A result that fits one part is a single PUT.
"""

from __future__ import annotations

import time

from layerserve.services.batch.ports import ObjectWriter
from layerserve.services.batch.state import Progress


class PartSink:
    def __init__(
        self,
        writer: ObjectWriter,
        bucket: str,
        key: str,
        content_type: str,
        part_bytes: int,
        progress: Progress,
    ) -> None:
        self._writer = writer
        self._bucket = bucket
        self.key = key
        self._content_type = content_type
        self._part_bytes = part_bytes
        self._progress = progress
        self._buffer = bytearray()
        self._created_here = False

    @property
    def position(self) -> int:
        """Offset in the result object of the next byte written."""
        return self._progress.written + len(self._buffer)

    def write(self, data: bytes) -> None:
        self._buffer += data

    def checkpoint(self) -> bool:
        """Upload the buffer as the next part if it is big enough; ``True`` if it was."""
        if len(self._buffer) < self._part_bytes:
            return False
        self._upload_part()
        return True

    def finish(self) -> None:
        progress = self._progress
        started = time.perf_counter()
        if progress.upload_id is None:
            self._writer.put(self._bucket, self.key, bytes(self._buffer), self._content_type)
            progress.written += len(self._buffer)
            self._buffer.clear()
        else:
            if self._buffer:
                self._upload_part()
            self._writer.complete_upload(self._bucket, self.key, progress.upload_id, progress.parts)
        progress.counts.upload_s += time.perf_counter() - started

    def abort(self, *, only_if_created_here: bool) -> None:
        """Drop the multipart upload: always when the job is over, else only a fresh one
        (a continued upload stays for the retry that resumes it)."""
        upload_id = self._progress.upload_id
        if upload_id is None or (only_if_created_here and not self._created_here):
            return
        self._writer.abort_upload(self._bucket, self.key, upload_id)
        self._progress.upload_id = None

    def _upload_part(self) -> None:
        progress = self._progress
        started = time.perf_counter()
        if progress.upload_id is None:
            progress.upload_id = self._writer.create_upload(
                self._bucket, self.key, self._content_type
            )
            self._created_here = True
        number = progress.parts + 1
        self._writer.upload_part(
            self._bucket, self.key, progress.upload_id, number, bytes(self._buffer)
        )
        progress.parts = number
        progress.written += len(self._buffer)
        self._buffer.clear()
        progress.counts.upload_s += time.perf_counter() - started
