"""Memory stays bounded whatever the file size: the handler on 5k and on 20k JSONL lines
has the same allocation peak (tracemalloc: Python and NumPy allocations).

The inputs and results live on disk behind a minimal stand-in for the S3 client, so
the measurement sees our code only (moto keeps whole objects in memory). DynamoDB for
idempotency is moto's. Parts and read chunks are 128 KiB here, so both sizes span several.
"""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from layerserve.services.batch import BatchOptions
from tests.batch_support import BUCKET, batch_stack, s3_event

SMALL = 5_000
LARGE = 20_000


class DiskBody:
    def __init__(self, path: Path, start: int, end: int) -> None:
        self._file = path.open("rb")
        self._file.seek(start)
        self._left = end - start

    def iter_chunks(self, chunk_size: int) -> Iterator[bytes]:
        while self._left > 0:
            chunk = self._file.read(min(chunk_size, self._left))
            if not chunk:
                return
            self._left -= len(chunk)
            yield chunk

    def close(self) -> None:
        self._file.close()


class DiskS3:
    """The S3 client calls the batch adapter makes, against files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = self.root / "objects" / hashlib.sha256(key.encode()).hexdigest()
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        path = self._path(kwargs["Key"])
        start, _, stop = kwargs["Range"].removeprefix("bytes=").partition("-")
        end = int(stop) + 1 if stop else path.stat().st_size
        return {"Body": DiskBody(path, int(start), end)}

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self._path(kwargs["Key"]).write_bytes(kwargs["Body"])
        return {}

    def create_multipart_upload(self, **kwargs: Any) -> dict[str, Any]:
        return {"UploadId": "u1"}

    def upload_part(self, **kwargs: Any) -> dict[str, Any]:
        self._path(f"{kwargs['Key']}#{kwargs['PartNumber']}").write_bytes(kwargs["Body"])
        return {"ETag": str(kwargs["PartNumber"])}

    def list_parts(self, **kwargs: Any) -> dict[str, Any]:
        parts = []
        number = 1
        while self._path(f"{kwargs['Key']}#{number}").exists():
            parts.append({"PartNumber": number, "ETag": str(number)})
            number += 1
        return {"Parts": parts, "IsTruncated": False}

    def complete_multipart_upload(self, **kwargs: Any) -> dict[str, Any]:
        with self._path(kwargs["Key"]).open("wb") as out:
            for part in kwargs["MultipartUpload"]["Parts"]:
                piece = self._path(f"{kwargs['Key']}#{part['PartNumber']}")
                out.write(piece.read_bytes())
                piece.unlink()
        return {}

    def abort_multipart_upload(self, **kwargs: Any) -> dict[str, Any]:
        return {}

    def write_lines(self, key: str, count: int) -> dict[str, Any]:
        """A generated JSONL upload, written line by line; its S3 event."""
        path = self._path(key)
        with path.open("w") as out:
            for index in range(count):
                out.write(json.dumps([index % 97 / 10.0] * 16) + "\n")
        return s3_event(BUCKET, key, path.stat().st_size, "e" * 32, "v1")


def _peak(stack: Any, disk: DiskS3, lines: int) -> tuple[int, int]:
    event = disk.write_lines(f"inputs/mlp/big-{lines}.jsonl", lines)
    tracemalloc.start()
    try:
        outcome = stack.invoke(event)["outcomes"][0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (outcome["status"], outcome["records"], outcome["errors"]) == ("succeeded", lines, 0)
    return peak, disk._path(f"outputs/mlp/big-{lines}.jsonl.result.jsonl").stat().st_size


def test_peak_memory_does_not_grow_with_the_file(
    models_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = DiskS3(tmp_path)
    options = BatchOptions(batch_size=256, part_bytes=128 * 1024, read_chunk_bytes=128 * 1024)
    with batch_stack(models_root, tmp_path, monkeypatch, options=options, s3_client=disk) as stack:
        _peak(stack, disk, 500)  # warm up: model loaded, caches filled
        small, small_out = _peak(stack, disk, SMALL)
        large, large_out = _peak(stack, disk, LARGE)
    figures = f"peaks: {SMALL} lines {small / 1e6:.2f} MB, {LARGE} lines {large / 1e6:.2f} MB"
    assert large_out > 3.5 * small_out
    assert large < 1.25 * small + 128 * 1024, figures
    assert large < 8 * 1024 * 1024, figures
