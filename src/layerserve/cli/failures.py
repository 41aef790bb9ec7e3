"""The one place where a command's failure becomes one line on stderr and a non-zero exit.

Every command is added to the app through ``add_command``, which wraps it so that a known
exception family (our ``LayerserveError``, botocore and boto3, HTTP clients, ``OSError``,
a missing optional dependency) prints ``error: <one line>`` instead of a traceback.
``LAYERSERVE_DEBUG=1`` lets the exception through, traceback and all.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, NoReturn

import typer
from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, EndpointConnectionError, NoCredentialsError
from botocore.exceptions import ClientError as AwsClientError

from layerserve.cli.extra import CLI_EXTRA_HINT, is_cli_extra_module
from layerserve.cli.flags import FlagCommand
from layerserve.domain.errors import LayerserveError

DEBUG_ENV = "LAYERSERVE_DEBUG"
_PASS_THROUGH = (typer.Exit, typer.Abort, typer.TyperException)
"""Exits, aborts and usage errors: typer prints them itself."""


class CallError(Exception):
    """A remote API answered with an error (``status``) or could not be reached (0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def fail(message: str) -> NoReturn:
    """One line on stderr, no traceback, exit status 1."""
    typer.echo(f"error: {_one_line(message)}", err=True)
    raise typer.Exit(1)


def describe(exc: BaseException) -> str:
    """What went wrong, in words a deployer can act on (one line)."""
    if type(exc).__module__.split(".")[0] in _HTTP_CLIENTS:
        return _one_line(_http(exc))
    for family, explain in _FAMILIES:
        if isinstance(exc, family):
            return _one_line(explain(exc))
    return _one_line(f"unexpected {type(exc).__name__}: {exc} ({DEBUG_ENV}=1 shows the traceback)")


def guarded(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with every failure turned into one line (see ``describe``)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except _PASS_THROUGH:
            raise
        except Exception as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            fail(describe(exc))

    return run


def add_command(app: typer.Typer, command: Callable[..., None]) -> None:
    """Add ``command`` to ``app``: guarded, with plain flags in its help."""
    app.command(cls=FlagCommand)(guarded(command))


def _call(exc: CallError) -> str:
    if not exc.status:
        return f"{exc.message}: is the stack running at that address?"
    return f"{exc.message} (HTTP {exc.status})"


def _aws(exc: AwsClientError) -> str:
    error = exc.response.get("Error", {})
    code, message = error.get("Code", "error"), error.get("Message", "")
    operation = getattr(exc, "operation_name", "")
    return f"AWS {operation} failed: {code}" + (f": {message}" if message else "")


def _boto3(exc: Boto3Error) -> str:
    """``S3UploadFailedError`` and friends: the S3 error they wrap says more."""
    cause = exc.__cause__ or exc.__context__
    return _aws(cause) if isinstance(cause, AwsClientError) else str(exc)


def _import(exc: ImportError) -> str:
    if is_cli_extra_module(exc.name):
        return CLI_EXTRA_HINT
    return f"cannot import {exc.name or 'a module'}: {exc}"


def _os(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    return f"{reason}: {exc.filename}" if exc.filename else reason


def _http(exc: BaseException) -> str:
    return f"HTTP request failed: {exc}"


_FAMILIES: tuple[tuple[type[BaseException], Callable[[Any], str]], ...] = (
    (CallError, _call),
    (LayerserveError, lambda exc: exc.message),
    (EndpointConnectionError, lambda exc: f"cannot reach {exc.kwargs.get('endpoint_url')}"),
    (NoCredentialsError, lambda _: _NO_CREDENTIALS),
    (AwsClientError, _aws),
    (BotoCoreError, str),
    (Boto3Error, _boto3),
    (ImportError, _import),
    (ConnectionError, lambda exc: f"cannot connect: {exc}"),
    (OSError, _os),  # urllib's URLError is an OSError
)
_NO_CREDENTIALS = (
    "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
    '(any values do for the local stack: eval "$(make -s local-env)")'
)
_HTTP_CLIENTS = ("httpx", "httpcore", "urllib3", "requests")


def _one_line(text: str) -> str:
    return " ".join(text.split())
