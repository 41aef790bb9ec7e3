"""Turning a version record into a verified, cached, runnable model.

Order is fixed: fetch the compressed artifact, verify its sha256, decompress while
hashing the ONNX bytes, verify that too, and only then create a session, whose inputs
and outputs must be the ones the manifest declares. A version that failed is
remembered, so a corrupt artifact is not re-read on every request.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from layerserve.domain.errors import (
    ArtifactIntegrityError,
    Blame,
    InvalidModelError,
    LayerserveError,
    ModelNotReadyError,
    blame_of,
    is_retryable,
)
from layerserve.domain.manifest import Manifest, Signature
from layerserve.domain.tensors import signature_mismatch
from layerserve.services.catalog import VersionRecord

Arrays = dict[str, np.ndarray[Any, Any]]


class RunnableModel(Protocol):
    def run(self, feeds: Arrays, output_names: list[str]) -> list[np.ndarray[Any, Any]]: ...

    @property
    def signature(self) -> Signature:
        """What the loaded graph takes and returns."""
        ...


class ArtifactSource(Protocol):
    """Where compressed artifacts come from: a layer mount, S3, ..."""

    def fetch(self, record: VersionRecord) -> Path:
        """A local path to the compressed artifact of ``record`` (not yet verified)."""
        ...


class RoutedArtifacts:
    """Layer locations from the layer, ``s3://`` locations from S3 (when configured)."""

    def __init__(self, layer: ArtifactSource, s3: ArtifactSource | None = None) -> None:
        self._layer = layer
        self._s3 = s3

    def fetch(self, record: VersionRecord) -> Path:
        if not record.location.startswith("s3://"):
            return self._layer.fetch(record)
        if self._s3 is None:
            raise ArtifactIntegrityError(
                f"version {record.model}/{record.version} lives in S3, "
                "but no S3 access is configured"
            )
        return self._s3.fetch(record)


OnnxModel = bytes | Path
"""Verified ONNX bytes: in memory, or (large models) a file in scratch space."""

Unpacker = Callable[[Path, Manifest], OnnxModel]
"""Verifies the compressed file against the manifest and returns the ONNX model.

A file is the loader's: it is removed once the session holds the model, so /tmp
never fills up however many versions an execution environment loads in turn."""

SessionFactory = Callable[[OnnxModel], RunnableModel]


@dataclass(frozen=True, slots=True)
class LoadTimings:
    fetch_s: float
    unpack_s: float
    session_s: float


@dataclass(slots=True)
class LoadedVersion:
    record: VersionRecord
    model: RunnableModel
    timings: LoadTimings


class ModelLoader:
    """Loads each version once per execution environment; keeps the most recent few."""

    def __init__(
        self,
        source: ArtifactSource,
        unpack: Unpacker,
        create_session: SessionFactory,
        max_loaded: int = 8,
    ) -> None:
        self._source = source
        self._unpack = unpack
        self._create_session = create_session
        self._max_loaded = max_loaded
        self._loaded: OrderedDict[tuple[str, str], LoadedVersion] = OrderedDict()
        self._failed: dict[tuple[str, str], str] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, record: VersionRecord) -> LoadedVersion:
        key = (record.model, record.version)
        with self._guard:
            loaded = self._loaded.get(key)
            if loaded is not None:
                self._loaded.move_to_end(key)
                return loaded
        with self._lock_for(key):
            return self._loaded.get(key) or self._load(key, record)

    def use_source(self, source: ArtifactSource) -> None:
        """Fetch from ``source`` from now on (new clients after a snapshot restore); the
        loaded versions stay: a version is immutable."""
        self._source = source

    def is_loaded(self, model: str, version: str) -> bool:
        return (model, version) in self._loaded

    def failure(self, model: str, version: str) -> str | None:
        return self._failed.get((model, version))

    def loaded(self) -> list[LoadedVersion]:
        return list(self._loaded.values())

    def _lock_for(self, key: tuple[str, str]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _load(self, key: tuple[str, str], record: VersionRecord) -> LoadedVersion:
        if key in self._failed:
            raise ModelNotReadyError(self._failed[key])
        try:
            loaded = self._load_fresh(record)
        except LayerserveError as exc:
            if is_retryable(exc) or blame_of(exc) is not Blame.MODEL:
                raise  # transient (storage unreachable): propagates, retried next time
            # The model's own failure is permanent for this immutable version: remember it.
            reason = f"model '{key[0]}' version '{key[1]}' failed to load: {exc.message}"
            self._failed[key] = reason
            raise ModelNotReadyError(reason) from exc
        with self._guard:
            self._loaded[key] = loaded
            while len(self._loaded) > self._max_loaded:
                self._loaded.popitem(last=False)
        return loaded

    def _load_fresh(self, record: VersionRecord) -> LoadedVersion:
        started = time.perf_counter()
        compressed = self._source.fetch(record)
        fetched = time.perf_counter()
        onnx = self._unpack(compressed, record.manifest)
        unpacked = time.perf_counter()
        try:
            model = self._create_session(onnx)
        finally:
            if isinstance(onnx, Path):
                onnx.unlink(missing_ok=True)
        _check_signature(record, model)
        done = time.perf_counter()
        timings = LoadTimings(fetched - started, unpacked - fetched, done - unpacked)
        return LoadedVersion(record, model, timings)


def _check_signature(record: VersionRecord, model: RunnableModel) -> None:
    """Requests are checked against the manifest: it must describe the graph truly, or
    every request would pass the checks and fail in the runtime."""
    mismatch = signature_mismatch(record.manifest.signature, model.signature)
    if mismatch is not None:
        raise InvalidModelError(f"the manifest's signature disagrees with the graph: {mismatch}")
