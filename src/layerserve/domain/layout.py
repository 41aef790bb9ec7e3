"""Where a packaged version's files live: the one owner of the artifact layout.

A layer folder holds ``models/<name>/<version>/`` with ``model.onnx.zst`` and
``manifest.json``. Lambda mounts layers under ``/opt``, so there the models root is
``/opt/models``. The registry records a layer version's location as its folder relative
to the layer, ``models/<name>/<version>``. Versions uploaded to the artifacts bucket use
the keys ``artifacts/<name>/<version>/model.onnx.zst`` and ``.../manifest.json``.

Pure: paths are built and parsed here; adapters read and write them.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Final, TypeVar

P = TypeVar("P", bound=PurePath)

MODELS_DIR: Final = "models"
"""A layer's folder of versions: the models root (``/opt/models`` in Lambda)."""
LAMBDA_MODELS_ROOT: Final = f"/opt/{MODELS_DIR}"
MANIFEST_FILE: Final = "manifest.json"
ARTIFACT_FILE: Final = "model.onnx.zst"
MANIFEST_GLOB: Final = f"*/*/{MANIFEST_FILE}"
"""Every version's manifest, relative to a models root."""
ARTIFACTS_PREFIX: Final = "artifacts"
"""The artifacts bucket's prefix for uploaded versions (the functions may read only it)."""

_LAYER_PREFIX: Final = f"{MODELS_DIR}/"


def models_root(layer: P) -> P:
    """The models root inside a layer folder."""
    return layer / MODELS_DIR


def version_dir(models_root: P, name: str, version: str) -> P:
    """The folder of ``name`` version ``version`` under a models root."""
    return models_root / name / version


def version_of(file: PurePath) -> tuple[str, str]:
    """``(name, version)`` that the folders around a version's file (a manifest found
    with ``MANIFEST_GLOB``) name."""
    folder = file.parent
    return folder.parent.name, folder.name


def layer_location(name: str, version: str) -> str:
    """The registry location of a version shipped in the model layer."""
    return f"{_LAYER_PREFIX}{name}/{version}"


def is_layer_location(location: str) -> bool:
    return location.startswith(_LAYER_PREFIX)


def layer_folder(models_root: P, location: str) -> P | None:
    """The folder a layer location names under ``models_root``; ``None`` for any other
    location. The caller checks that the folder stays inside the root."""
    if not is_layer_location(location):
        return None
    return models_root / location.removeprefix(_LAYER_PREFIX)


def upload_keys(name: str, version: str) -> tuple[str, str]:
    """The artifact and manifest keys of a version uploaded to the artifacts bucket."""
    folder = f"{ARTIFACTS_PREFIX}/{name}/{version}"
    return f"{folder}/{ARTIFACT_FILE}", f"{folder}/{MANIFEST_FILE}"


def parse_upload_key(key: str) -> tuple[str, str] | None:
    """``(name, version)`` for an artifact or manifest key of the upload layout, else None."""
    parts = key.split("/")
    if (
        len(parts) != 4
        or parts[0] != ARTIFACTS_PREFIX
        or parts[3] not in (ARTIFACT_FILE, MANIFEST_FILE)
    ):
        return None
    return parts[1], parts[2]
