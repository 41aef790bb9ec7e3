"""What the batch use case needs from the outside world."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from layerserve.domain.batch import ObjectVersion


class ObjectReader(Protocol):
    """Reads one object version; missing or changed objects raise ``NotFoundError``."""

    def stream(self, source: ObjectVersion, start: int, end: int | None = None) -> Iterator[bytes]:
        """The bytes ``[start, end)`` (``end=None``: to the end of the object), in chunks."""
        ...

    def read(self, source: ObjectVersion, start: int, end: int) -> bytes:
        """The bytes ``[start, end)``."""
        ...


class ObjectWriter(Protocol):
    """Writes result objects: single PUTs and multipart uploads."""

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None: ...

    def create_upload(self, bucket: str, key: str, content_type: str) -> str:
        """Start a multipart upload; returns its upload id."""
        ...

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int, body: bytes) -> None:
        """Upload (or overwrite) part ``number``."""
        ...

    def complete_upload(self, bucket: str, key: str, upload_id: str, parts: int) -> None:
        """Complete the upload from parts ``1..parts`` (later parts are left out)."""
        ...

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None: ...


class Continuer(Protocol):
    """Hands the rest of a job to a later invocation (asynchronously, at least once)."""

    def schedule(self, payload: dict[str, Any]) -> None: ...


class Clock(Protocol):
    def remaining_s(self) -> float:
        """Seconds left in this invocation."""
        ...
