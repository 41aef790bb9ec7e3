"""Both ways of unpacking an artifact (in memory, or streamed through scratch space)
verify the same digests and refuse the same damage."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import pytest
import zstandard

from layerserve.adapters.artifact_files import ArtifactUnpacker
from layerserve.domain.errors import ArtifactIntegrityError, ServiceUnavailableError
from layerserve.domain.layout import MANIFEST_FILE
from layerserve.domain.manifest import Manifest
from layerserve.settings import IN_MEMORY_UNPACK_CAP

IN_MEMORY = "in memory"
STREAMED = "streamed"


@pytest.fixture(params=[IN_MEMORY, STREAMED])
def unpacker(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactUnpacker:
    limit = 1 << 30 if request.param == IN_MEMORY else 0
    return ArtifactUnpacker(tmp_path / "scratch", in_memory_max_bytes=limit)


@pytest.fixture
def version_dir(models_root: Path) -> Path:
    return models_root / "mlp" / "1"


def _manifest(folder: Path) -> Manifest:
    return Manifest.from_json((folder / MANIFEST_FILE).read_bytes())


def _onnx_bytes(result: bytes | Path) -> bytes:
    return result if isinstance(result, bytes) else result.read_bytes()


def _verified_onnx(version_dir: Path, manifest: Manifest, tmp_path: Path) -> bytes:
    """The intact version's ONNX bytes, to build damaged artifacts from."""
    unpack = ArtifactUnpacker(tmp_path / "s", IN_MEMORY_UNPACK_CAP)
    return _onnx_bytes(unpack(version_dir / "model.onnx.zst", manifest))


def _artifact(
    tmp_path: Path, payload: bytes, manifest: Manifest, declares_size: bool = True
) -> Manifest:
    """Writes ``payload`` as a zstd artifact; a manifest whose compressed digest matches it
    and whose ONNX fields stay those of ``manifest``."""
    compressor = zstandard.ZstdCompressor(write_checksum=True, write_content_size=declares_size)
    compressed = compressor.compress(payload)
    (tmp_path / "model.onnx.zst").write_bytes(compressed)
    artifact = manifest.artifact.model_copy(
        update={"sha256": hashlib.sha256(compressed).hexdigest(), "size": len(compressed)}
    )
    return manifest.model_copy(update={"artifact": artifact})


def test_both_ways_return_the_verified_onnx_bytes(
    unpacker: ArtifactUnpacker, version_dir: Path
) -> None:
    manifest = _manifest(version_dir)
    onnx = _onnx_bytes(unpacker(version_dir / "model.onnx.zst", manifest))
    assert hashlib.sha256(onnx).hexdigest() == manifest.onnx.sha256
    assert len(onnx) == manifest.onnx.size


def test_a_damaged_artifact_is_refused(
    unpacker: ArtifactUnpacker, version_dir: Path, tmp_path: Path
) -> None:
    data = bytearray((version_dir / "model.onnx.zst").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "model.onnx.zst").write_bytes(bytes(data))
    with pytest.raises(ArtifactIntegrityError, match="compressed artifact of mlp/1 does not"):
        unpacker(tmp_path / "model.onnx.zst", _manifest(version_dir))


def test_other_onnx_bytes_behind_a_matching_compressed_digest_are_refused(
    unpacker: ArtifactUnpacker, version_dir: Path, tmp_path: Path
) -> None:
    manifest = _manifest(version_dir)
    other = bytearray(_verified_onnx(version_dir, manifest, tmp_path))
    other[-1] ^= 0xFF
    forged = _artifact(tmp_path, bytes(other), manifest)
    with pytest.raises(ArtifactIntegrityError, match="ONNX bytes of mlp/1 does not match"):
        unpacker(tmp_path / "model.onnx.zst", forged)


@pytest.mark.parametrize("declares_size", [True, False])
def test_a_frame_larger_than_the_manifest_says_is_refused_in_bounded_memory(
    unpacker: ArtifactUnpacker, version_dir: Path, tmp_path: Path, declares_size: bool
) -> None:
    manifest = _manifest(version_dir)
    bomb = _artifact(tmp_path, b"\0" * (64 << 20), manifest, declares_size=declares_size)
    tracemalloc.start()
    try:
        with pytest.raises(ArtifactIntegrityError):
            unpacker(tmp_path / "model.onnx.zst", bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"{peak / 2**20:.1f} MiB allocated for a 64 MiB frame"
    assert not list((tmp_path / "scratch").rglob("*.onnx*"))


def test_every_frame_of_a_multi_frame_artifact_is_read(
    unpacker: ArtifactUnpacker, version_dir: Path, tmp_path: Path
) -> None:
    manifest = _manifest(version_dir)
    onnx = _verified_onnx(version_dir, manifest, tmp_path)
    half = len(onnx) // 2
    frames = b"".join(
        zstandard.ZstdCompressor().compress(part) for part in (onnx[:half], onnx[half:])
    )
    (tmp_path / "model.onnx.zst").write_bytes(frames)
    artifact = manifest.artifact.model_copy(
        update={"sha256": hashlib.sha256(frames).hexdigest(), "size": len(frames)}
    )
    multi = manifest.model_copy(update={"artifact": artifact})
    assert _onnx_bytes(unpacker(tmp_path / "model.onnx.zst", multi)) == onnx


def test_a_frame_without_its_size_still_unpacks(
    unpacker: ArtifactUnpacker, version_dir: Path, tmp_path: Path
) -> None:
    manifest = _manifest(version_dir)
    onnx = _verified_onnx(version_dir, manifest, tmp_path)
    unsized = _artifact(tmp_path, onnx, manifest, declares_size=False)
    assert _onnx_bytes(unpacker(tmp_path / "model.onnx.zst", unsized)) == onnx


def test_a_missing_artifact_is_unreadable(unpacker: ArtifactUnpacker, version_dir: Path) -> None:
    with pytest.raises(ArtifactIntegrityError, match="unreadable"):
        unpacker(version_dir / "missing.onnx.zst", _manifest(version_dir))


def test_scratch_space_that_cannot_be_written_is_a_transient_failure(
    version_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "scratch").write_text("a file where the scratch folder should be")
    streamed = ArtifactUnpacker(tmp_path / "scratch", in_memory_max_bytes=0)
    with pytest.raises(ServiceUnavailableError, match="cannot unpack mlp/1"):
        streamed(version_dir / "model.onnx.zst", _manifest(version_dir))
