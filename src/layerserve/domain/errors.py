"""One transport-neutral error hierarchy.

Every error a caller can cause is a subclass of ``ClientError``; the HTTP layer maps
classes to status codes in exactly one place (``layerserve.api.errors``).
"""

from __future__ import annotations


class LayerserveError(Exception):
    """Base of every error layerserve raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- caused by the caller -------------------------------------------------------------
class ClientError(LayerserveError):
    """The request itself is wrong; retrying it unchanged will fail again."""


class InvalidInputError(ClientError):
    """Malformed body, wrong shape or datatype, missing or unknown tensor."""


class PayloadTooLargeError(ClientError):
    """The request body exceeds the configured limit."""


class NotFoundError(ClientError):
    """Something named by the request does not exist."""


class ModelNotFoundError(NotFoundError):
    """No model of that name."""

    def __init__(self, model: str) -> None:
        super().__init__(f"model '{model}' not found")
        self.model = model


class VersionNotFoundError(NotFoundError):
    """The model exists, the version or alias does not."""

    def __init__(self, model: str, version: str) -> None:
        super().__init__(f"version '{version}' of model '{model}' not found")
        self.model = model
        self.version = version


class ConflictError(ClientError):
    """The request contradicts the current state (e.g. stale revision)."""


class AccessDeniedError(ClientError):
    """The caller is not allowed to do this."""


# --- caused by the model or the service ---------------------------------------------
class InvalidModelError(LayerserveError):
    """A model file that layerserve refuses to package or load."""


class ArtifactIntegrityError(LayerserveError):
    """An artifact whose bytes do not match its manifest: never loaded."""


class ModelNotReadyError(LayerserveError):
    """The model exists but cannot serve now (failed to load, still loading)."""


class InferenceFailedError(LayerserveError):
    """The runtime failed on input that passed validation."""


class ServiceUnavailableError(LayerserveError):
    """A backing service (registry, storage) could not be reached."""


# --- registry ---------------------------------------------------------------------------
class RevisionConflictError(ConflictError):
    """An alias changed since the caller read it; ``details`` carries the current revision."""

    def __init__(self, message: str, current_revision: int) -> None:
        super().__init__(message)
        self.current_revision = current_revision
        self.details = {"revision": current_revision}


class IncompatibleSignatureError(ConflictError):
    """The new target's inputs/outputs differ from what the alias serves now."""


class ArtifactMismatchError(ArtifactIntegrityError):
    """An artifact offered for registration does not match its manifest (caller's fault)."""


# --- metrics ----------------------------------------------------------------------------
class MetricRecordError(LayerserveError):
    """A log line that claims to be a metric record but is not a valid one."""
