"""Which model versions exist and which one serves a request.

``ModelCatalog`` (``ports``) is what the inference side reads. Two implement it: the
static ``adapters.layer_catalog.LayerCatalog`` (every version under a models root) and
``registry.RegistryCatalog`` (aliases and canary routes from the registry, cached).
"""

from layerserve.services.catalog.ports import ModelCatalog, Resolution, VersionRecord

__all__ = ["ModelCatalog", "Resolution", "VersionRecord"]
