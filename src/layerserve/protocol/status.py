"""The one place where layerserve errors become HTTP status codes.

The error classes stay transport-neutral (``domain.errors``: who is to blame, whether a
retry helps); this table is the REST binding every HTTP surface answers with (the Open
Inference Protocol routes and the registry API), and the status a request's metric
record carries. A lookup walks the exception's MRO, so subclasses inherit their parent's
status; a test checks that the table agrees with the blame of every class.
"""

from __future__ import annotations

from typing import Final

from layerserve.domain import errors

STATUS: Final[dict[type[errors.LayerserveError], int]] = {
    errors.InvalidInputError: 400,
    errors.PayloadTooLargeError: 413,
    errors.ResponseTooLargeError: 400,
    errors.AccessDeniedError: 403,
    errors.NotFoundError: 404,
    errors.ConflictError: 409,
    errors.ClientError: 400,
    errors.ModelNotReadyError: 503,
    errors.ServiceUnavailableError: 503,
    errors.ArtifactIntegrityError: 500,
    errors.InvalidModelError: 500,
    errors.InferenceFailedError: 500,
    errors.LayerserveError: 500,
    errors.ArtifactMismatchError: 422,
}


def status_for(exc: BaseException) -> int:
    """HTTP status for an error: the first class in its MRO that has an entry (500 for an
    exception layerserve did not raise on purpose: the service's, like its blame)."""
    for cls in type(exc).__mro__:
        status = STATUS.get(cls)
        if status is not None:
            return status
    return 500
