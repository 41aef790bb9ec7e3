"""Verify a compressed artifact against its manifest and decompress it.

Models up to ``in_memory_max_bytes`` (compressed + ONNX) are unpacked in memory: one
read, one hash, one decompression, one hash, each a single call into C code that releases
the GIL, so the work overlaps the imports of the init phase well and /tmp is not
touched. Larger models stream through a file in scratch space with bounded memory.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

import zstandard

from layerserve.domain.errors import ArtifactIntegrityError, ServiceUnavailableError
from layerserve.domain.layout import version_dir
from layerserve.domain.manifest import Manifest

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class ArtifactUnpacker:
    """Checks both digests; returns the ONNX bytes, or for large models a file
    ``<scratch>/<name>/<version>/<onnx sha>.onnx``.

    The file is named by its digest and written via a temporary file and an atomic
    rename, so a crash mid-write never leaves a file that looks complete.
    """

    def __init__(self, scratch_dir: Path, in_memory_max_bytes: int) -> None:
        self._scratch = scratch_dir
        self._in_memory_max_bytes = in_memory_max_bytes

    def __call__(self, compressed: Path, manifest: Manifest) -> bytes | Path:
        if manifest.artifact.size + manifest.onnx.size <= self._in_memory_max_bytes:
            return _unpack_in_memory(compressed, manifest)
        self._verify_compressed(compressed, manifest)
        folder = version_dir(self._scratch, manifest.name, manifest.version)
        target = folder / f"{manifest.onnx.sha256}.onnx"
        try:
            return _write_verified(compressed, manifest, target)
        except OSError as exc:  # e.g. /tmp full: transient, not the artifact's fault
            raise ServiceUnavailableError(
                f"cannot unpack {manifest.name}/{manifest.version}: {exc}"
            ) from exc

    @staticmethod
    def _verify_compressed(compressed: Path, manifest: Manifest) -> None:
        try:
            size = compressed.stat().st_size
        except OSError as exc:
            raise ArtifactIntegrityError(f"artifact {compressed} is unreadable: {exc}") from exc
        expected = manifest.artifact
        _check(
            manifest,
            "compressed artifact",
            sha256_file(compressed),
            expected.sha256,
            size,
            expected.size,
        )


def _unpack_in_memory(compressed: Path, manifest: Manifest) -> bytes:
    try:
        data = compressed.read_bytes()
    except OSError as exc:
        raise ArtifactIntegrityError(f"artifact {compressed} is unreadable: {exc}") from exc
    expected = manifest.artifact
    digest = hashlib.sha256(data).hexdigest()
    _check(manifest, "compressed artifact", digest, expected.sha256, len(data), expected.size)
    onnx = _decompress_bounded(data, manifest.onnx.size)
    digest = hashlib.sha256(onnx).hexdigest()
    _check(manifest, "ONNX bytes", digest, manifest.onnx.sha256, len(onnx), manifest.onnx.size)
    return onnx


def _decompress_bounded(data: bytes, size: int) -> bytes:
    """The ONNX bytes, never allocating more than ``size`` + 1 bytes whatever a frame
    declares. A frame that declares exactly ``size`` (what the packager writes)
    decompresses in one call, ~2.5x faster than the bounded streaming read used for
    anything else (frames without a size, several frames)."""
    try:
        if zstandard.frame_content_size(data) == size:
            return zstandard.ZstdDecompressor().decompress(data)
        source = io.BytesIO(data)
        reader = zstandard.ZstdDecompressor().stream_reader(source, read_across_frames=True)
        return reader.read(size + 1)
    except zstandard.ZstdError as exc:
        raise ArtifactIntegrityError(f"artifact does not decompress: {exc}") from exc


def _write_verified(compressed: Path, manifest: Manifest, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out, compressed.open("rb") as source:
            digest, size = _decompress(source, out, limit=manifest.onnx.size)
        _check(manifest, "ONNX bytes", digest, manifest.onnx.sha256, size, manifest.onnx.size)
        Path(partial).replace(target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return target


def _decompress(source: BinaryIO, out: BinaryIO, limit: int) -> tuple[str, int]:
    """Stream-decompress, hashing as we go; stop early past ``limit`` bytes."""
    digest = hashlib.sha256()
    size = 0
    reader = zstandard.ZstdDecompressor().stream_reader(source, read_across_frames=True)
    try:
        while chunk := reader.read(CHUNK):
            size += len(chunk)
            if size > limit:
                break
            digest.update(chunk)
            out.write(chunk)
    except zstandard.ZstdError as exc:
        raise ArtifactIntegrityError(f"artifact does not decompress: {exc}") from exc
    return digest.hexdigest(), size


def _check(manifest: Manifest, what: str, got: str, want: str, size: int, want_size: int) -> None:
    if size != want_size or got != want:
        raise ArtifactIntegrityError(
            f"{what} of {manifest.name}/{manifest.version} does not match its manifest "
            f"(sha256 {got[:12]}…, {size} bytes; expected {want[:12]}…, {want_size} bytes)"
        )
