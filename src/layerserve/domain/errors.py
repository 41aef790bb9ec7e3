"""One transport-neutral error hierarchy, each class saying who caused it.

Every failure is classified once, here, by its **blame** and whether a **retry** can
help; everything else follows from those two facts and nothing else:

| blame   | HTTP (``protocol.status.STATUS``) | metric kind |
|---------|-----------------------------------|-------------|
| caller  | 4xx                               | ``client``  |
| model   | 5xx                               | ``model``   |
| service | 5xx (503 when retryable)          | ``server``  |

Retryability decides the rest: a batch line or upload whose failure no retry can fix gets
its error entry or error object; a retryable failure (an outage) fails the invocation,
so Lambda retries it and finally hands the event to the dead-letter queue.

An exception that is not a ``LayerserveError`` is the service's, and retryable: it is a
bug or an outage, never something the caller did. Classes map to HTTP status codes in
exactly one place (``layerserve.protocol.status``); a test checks that the table agrees
with the blame of every class.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class Blame(StrEnum):
    """Who caused a failure."""

    CALLER = "caller"  # the request, the uploaded file, the deployer's command
    MODEL = "model"  # the model or its artifact: fails whoever calls it
    SERVICE = "service"  # layerserve or a dependency it relies on (storage, registry)


class LayerserveError(Exception):
    """Base of every error layerserve raises on purpose."""

    blame: ClassVar[Blame] = Blame.SERVICE
    retryable: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def blame_of(exc: BaseException) -> Blame:
    """Who caused ``exc``; anything layerserve did not raise on purpose is the service's."""
    return exc.blame if isinstance(exc, LayerserveError) else Blame.SERVICE


def is_retryable(exc: BaseException) -> bool:
    """Whether the same request or event may succeed later (an outage, a bug being fixed).

    Unexpected exceptions are retryable: failing an invocation loses nothing (S3 and
    asynchronous events are redelivered, then dead-lettered), writing a final error
    object for a bug would lose the caller's file."""
    return exc.retryable if isinstance(exc, LayerserveError) else True


# --- caused by the caller -------------------------------------------------------------
class ClientError(LayerserveError):
    """The request itself is wrong; retrying it unchanged will fail again."""

    blame = Blame.CALLER


class InvalidInputError(ClientError):
    """Malformed body, wrong shape or datatype, missing or unknown tensor."""


class ModelRejectedInputError(InvalidInputError):
    """The runtime refused data that passed the signature checks: an index outside a
    table, an unknown category, tensors whose dimensions do not fit together."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"model rejected the input: {reason}")
        self.reason = reason


class PayloadTooLargeError(ClientError):
    """The request body exceeds the configured limit."""


class ResponseTooLargeError(ClientError):
    """The answer to a valid request would exceed what the transport can return (Lambda's
    response payload limit): the caller asks for less, or for binary outputs."""


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

    blame = Blame.MODEL


class ArtifactIntegrityError(LayerserveError):
    """An artifact whose bytes do not match its manifest: never loaded."""

    blame = Blame.MODEL


class ModelNotReadyError(LayerserveError):
    """The model exists but cannot serve: it failed to load (permanent for that version)."""

    blame = Blame.MODEL


class InferenceFailedError(LayerserveError):
    """The runtime failed on input that passed validation, for a reason the input did not
    cause (the model or the runtime is broken); input-caused failures are
    ``InvalidInputError``s."""

    blame = Blame.MODEL


class ServiceUnavailableError(LayerserveError):
    """A backing service (registry, storage) could not be reached, or ran out of a
    resource: a later attempt may succeed."""

    blame = Blame.SERVICE
    retryable = True


class InferenceResourcesError(ServiceUnavailableError):
    """The runtime could not get the memory a run needed (the execution environment's
    share, not the request's fault): another environment or a later attempt may serve it."""


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

    blame = Blame.CALLER


# --- metrics ----------------------------------------------------------------------------
class MetricRecordError(LayerserveError):
    """A log line that claims to be a metric record but is not a valid one."""

    blame = Blame.SERVICE  # our own log line; the same line fails every retry
