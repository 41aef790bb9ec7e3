"""Whose failure it is, inside a job: one line's (its error entry) or the whole job's.

A line's decode, validation, run and encoding may fail in any way its data can cause,
including exceptions that are not ``LayerserveError`` (a ``TypeError`` deep in a codec,
a ``ValueError`` from NumPy): each becomes that line's ``error`` entry, so one bad line
never costs the file. Two kinds of failure are never a line's, whatever line raised them:

- an outage (``is_retryable`` ``LayerserveError``, e.g. storage unreachable): the
  invocation fails and Lambda retries it;
- a model that cannot serve at all (``ModelNotReadyError``): the job ends with its
  error object.

``BaseException``s that are not ``Exception``s (the environment dying) are never caught.
"""

from __future__ import annotations

import logging
from typing import Final

from layerserve.domain.errors import LayerserveError, ModelNotReadyError

logger = logging.getLogger(__name__)

MAX_LINE_MESSAGE_CHARS: Final = 1000


def fails_more_than_the_line(exc: Exception) -> bool:
    """Whether ``exc`` must leave the line's code: an outage, or a model that cannot serve."""
    return isinstance(exc, LayerserveError) and (
        exc.retryable or isinstance(exc, ModelNotReadyError)
    )


def line_error(exc: Exception, where: str = "a line") -> str:
    """The error entry of a line (or array row) whose processing raised ``exc``; raises
    ``exc`` again when the failure is not the line's. Unexpected exceptions are logged with
    their traceback (``where`` names the line in the log)."""
    if fails_more_than_the_line(exc):
        raise exc
    if isinstance(exc, LayerserveError):
        return exc.message
    logger.error("unexpected failure on the data of %s", where, exc_info=exc)
    text = str(exc).strip().splitlines()
    detail = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return f"unexpected failure on this input ({detail})"[:MAX_LINE_MESSAGE_CHARS]
