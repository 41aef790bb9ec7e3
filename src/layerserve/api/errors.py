"""The one place where layerserve errors become HTTP responses.

Bodies follow the Open Inference Protocol error shape: ``{"error": "<message>"}``; the
status of each error class comes from ``protocol.status`` (the one table).
"""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from layerserve.domain import errors
from layerserve.protocol.status import status_for


def error_body(message: str, **extra: object) -> bytes:
    return orjson.dumps({"error": message, **extra})


def error_response(status: int, message: str, **extra: object) -> Response:
    return Response(error_body(message, **extra), status_code=status, media_type="application/json")


def _details(exc: errors.LayerserveError) -> dict[str, object]:
    details = getattr(exc, "details", None)
    return dict(details) if isinstance(details, dict) else {}


async def _on_layerserve_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.LayerserveError)
    return error_response(status_for(exc), exc.message, **_details(exc))


async def _on_http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, str(exc.detail))


async def _on_validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(part) for part in first.get("loc", ()))
    return error_response(400, f"invalid request: {where}: {first.get('msg', 'invalid')}")


async def _on_unexpected(_: Request, exc: Exception) -> Response:
    logging.getLogger("layerserve").exception("unhandled error", exc_info=exc)
    return error_response(500, "internal error")


def install_error_handlers(app: FastAPI) -> None:
    """Map every layerserve error, routing error and validation error to a JSON body."""
    app.add_exception_handler(Exception, _on_unexpected)
    app.add_exception_handler(errors.LayerserveError, _on_layerserve_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
