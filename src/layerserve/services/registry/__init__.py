"""Registry use cases over the ``RegistryStore`` port.

The inference function needs only ``RegistryReader`` (implemented by
``layerserve.adapters.dynamodb_registry.DynamoDBRegistry``).
"""

from layerserve.services.registry.aliases import AliasNotFoundError
from layerserve.services.registry.commands import (
    Archive,
    Canary,
    CreateModel,
    Promote,
    RegisterVersion,
    Rollback,
    SetAlias,
)
from layerserve.services.registry.ports import (
    ArtifactReader,
    HistoryPage,
    RegistryReader,
    RegistryStore,
)
from layerserve.services.registry.service import ModelStatus, RegistryService
from layerserve.services.registry.uploads import (
    ArtifactUploads,
    UploadedObject,
    UploadOutcome,
    is_s3_event,
    uploaded_objects,
)

__all__ = [
    "AliasNotFoundError",
    "Archive",
    "ArtifactReader",
    "ArtifactUploads",
    "Canary",
    "CreateModel",
    "HistoryPage",
    "ModelStatus",
    "Promote",
    "RegisterVersion",
    "RegistryReader",
    "RegistryService",
    "RegistryStore",
    "Rollback",
    "SetAlias",
    "UploadOutcome",
    "UploadedObject",
    "is_s3_event",
    "uploaded_objects",
]
