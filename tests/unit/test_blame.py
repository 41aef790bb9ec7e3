"""One classification of failures: blame and retryability decide everything else."""

from __future__ import annotations

import pytest

from layerserve.domain import errors
from layerserve.domain.errors import Blame, blame_of, is_retryable
from layerserve.protocol.status import status_for
from layerserve.services import packaging, registry
from layerserve.services.batch.service import ends_the_job
from layerserve.services.telemetry import error_kind

del packaging, registry  # imported so that their error classes are subclasses below


def _all_error_classes() -> list[type[errors.LayerserveError]]:
    found: list[type[errors.LayerserveError]] = []
    pending: list[type[errors.LayerserveError]] = [errors.LayerserveError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def _instance(cls: type[errors.LayerserveError]) -> errors.LayerserveError:
    instance = cls.__new__(cls)
    errors.LayerserveError.__init__(instance, "x")
    return instance


ERROR_CLASSES = _all_error_classes()


def test_every_package_error_class_is_seen() -> None:
    names = {cls.__name__ for cls in ERROR_CLASSES}
    assert {"QuantizationRejectedError", "LayerTooLargeError", "AliasNotFoundError"} <= names


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_the_http_status_follows_the_blame(cls: type[errors.LayerserveError]) -> None:
    status = status_for(_instance(cls))
    if cls.blame is Blame.CALLER:
        assert 400 <= status < 500
    else:
        assert status >= 500
    if cls.retryable:
        assert status == 503


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_the_metric_kind_follows_the_blame(cls: type[errors.LayerserveError]) -> None:
    kind = {Blame.CALLER: "client", Blame.MODEL: "model", Blame.SERVICE: "server"}[cls.blame]
    assert error_kind(_instance(cls)) == kind


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_a_batch_job_ends_exactly_when_no_retry_can_help(
    cls: type[errors.LayerserveError],
) -> None:
    assert ends_the_job(_instance(cls)) is not cls.retryable


def test_caller_errors_are_never_retried() -> None:
    assert not any(cls.retryable for cls in ERROR_CLASSES if cls.blame is Blame.CALLER)


def test_unexpected_exceptions_are_the_service_s_and_retryable() -> None:
    surprise = KeyError("bug")
    assert blame_of(surprise) is Blame.SERVICE
    assert is_retryable(surprise)
    assert error_kind(surprise) == "server"
    assert not ends_the_job(surprise)


def test_an_artifact_offered_with_the_wrong_bytes_is_the_caller_s() -> None:
    exc = errors.ArtifactMismatchError("digest differs")
    assert blame_of(exc) is Blame.CALLER
    assert status_for(exc) == 422
    assert error_kind(exc) == "client"
