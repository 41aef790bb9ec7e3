"""The model registry's pure rules: entities, alias moves, compatibility, locations."""

from layerserve.domain.registry.aliases import (
    canary_routes,
    describe,
    next_alias,
    promote_routes,
    rollback_routes,
    rolled_back,
    stable_version,
)
from layerserve.domain.registry.canary import CanaryPlan, canary_state
from layerserve.domain.registry.compat import signature_conflicts
from layerserve.domain.registry.entities import (
    ALIAS_PATTERN,
    DEFAULT_ALIAS,
    MODEL_PATTERN,
    Alias,
    HistoryAction,
    HistoryEntry,
    Model,
    ModelVersion,
    VersionStatus,
)
from layerserve.domain.registry.locations import (
    S3Uri,
    is_s3,
    validate_location,
)

__all__ = [
    "ALIAS_PATTERN",
    "DEFAULT_ALIAS",
    "MODEL_PATTERN",
    "Alias",
    "CanaryPlan",
    "HistoryAction",
    "HistoryEntry",
    "Model",
    "ModelVersion",
    "S3Uri",
    "VersionStatus",
    "canary_routes",
    "canary_state",
    "describe",
    "is_s3",
    "next_alias",
    "promote_routes",
    "rollback_routes",
    "rolled_back",
    "signature_conflicts",
    "stable_version",
    "validate_location",
]
