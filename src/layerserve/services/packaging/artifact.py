"""The compressed artifact and the layer folder it is written to."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import zstandard

from layerserve.domain.layout import ARTIFACT_FILE, MANIFEST_FILE, models_root, version_dir
from layerserve.services.packaging.errors import VersionExistsError

_FILE_MODE = 0o644  # readable by the Lambda runtime user once zipped into a layer


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compress(data: bytes, level: int) -> bytes:
    """One zstd frame with checksum and content size, compressed on all cores."""
    compressor = zstandard.ZstdCompressor(level=level, threads=-1, write_checksum=True)
    return compressor.compress(data)


class LayerFolder:
    """``<root>/models/<name>/<version>/{model.onnx.zst,manifest.json}`` (``domain.layout``).

    A version counts as present once either file exists. Files are written through
    temporary files and ``os.replace``, the manifest last, so a reader that finds a
    manifest also finds the artifact it describes.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def version_dir(self, name: str, version: str) -> Path:
        return version_dir(models_root(self.root), name, version)

    def ensure_free(self, name: str, version: str, force: bool) -> None:
        folder = self.version_dir(name, version)
        taken = (folder / MANIFEST_FILE).exists() or (folder / ARTIFACT_FILE).exists()
        if taken and not force:
            raise VersionExistsError(name, version, folder)

    def other_bytes(self, name: str, version: str) -> int:
        """Bytes of every other file under ``models/`` (they share the same layer)."""
        skip = self.version_dir(name, version)
        files = models_root(self.root).rglob("*")
        return sum(p.stat().st_size for p in files if p.is_file() and skip not in p.parents)

    def write(self, name: str, version: str, artifact: bytes, manifest: bytes, force: bool) -> Path:
        """Write the version; the same bytes again leave the folder untouched (versions are
        immutable), different bytes are refused unless ``force``."""
        folder = self.version_dir(name, version)
        if _holds(folder, artifact, manifest):
            return folder
        self.ensure_free(name, version, force)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST_FILE).unlink(missing_ok=True)  # a replaced version is never half-visible
        _write_atomically(folder / ARTIFACT_FILE, artifact)
        _write_atomically(folder / MANIFEST_FILE, manifest)
        return folder


def _holds(folder: Path, artifact: bytes, manifest: bytes) -> bool:
    try:
        same_manifest = (folder / MANIFEST_FILE).read_bytes() == manifest
        return same_manifest and (folder / ARTIFACT_FILE).read_bytes() == artifact
    except FileNotFoundError:
        return False


def _write_atomically(target: Path, data: bytes) -> None:
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(partial).chmod(_FILE_MODE)
        Path(partial).replace(target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
