"""CloudFormation custom resource ``Custom::ModelLayerVersions`` of the registry function.

On Create and Update (the ``ModelsLayer`` property changes with every model layer
version) it registers the versions under ``/opt/models`` that the registry does not know
yet and gives each model without a default alias one that points at its highest
version (``layer_sync``). Delete changes nothing: the registry outlives the stack.

Every request is answered on its pre-signed ``ResponseURL``, failures as ``FAILED``
with the reason, and before the function's own timeout: a stack never hangs on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Final, Protocol

from aws_lambda_powertools import Logger

from layerserve.adapters.cloudformation_response import put_response
from layerserve.domain.errors import LayerserveError
from layerserve.services.registry.layer_sync import LayerSync

RESOURCE_TYPE: Final = "Custom::ModelLayerVersions"
PHYSICAL_ID: Final = "layerserve-model-layer-versions"
RESPONSE_RESERVE_MS: Final = 15_000
"""Time kept back from the work to send the answer before Lambda stops the function."""
MAX_REASON: Final = 1000
MAX_LISTED: Final = 500
"""Characters of the reason and of each Data value: the whole answer stays under 4 KB."""

logger = Logger(service="registry")
Sync = Callable[[str], LayerSync]
"""Runs the sync with the actor to record in the history."""


class RemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


def is_custom_resource_event(event: Mapping[str, Any]) -> bool:
    return all(key in event for key in ("RequestType", "ResponseURL", "StackId", "RequestId"))


def on_custom_resource(
    event: Mapping[str, Any], context: RemainingTime, sync: Sync
) -> dict[str, Any]:
    """Do the request's work within the time left, answer CloudFormation, return the answer."""
    try:
        answer = _answer(event, context, sync)
    except Exception as exc:  # the stack must hear of any failure, whatever it is
        logger.exception("custom resource failed")
        answer = _failed(event, f"{type(exc).__name__}: {exc}")
    if not put_response(str(event["ResponseURL"]), answer):
        logger.error("CloudFormation was not told the outcome", extra={"answer": answer})
    return answer


def _answer(event: Mapping[str, Any], context: RemainingTime, sync: Sync) -> dict[str, Any]:
    request = event["RequestType"]
    if event.get("ResourceType") != RESOURCE_TYPE:
        kind = event.get("ResourceType")
        return _failed(event, f"this function serves {RESOURCE_TYPE}, not {kind}")
    if request == "Delete":
        return _response(event, "SUCCESS", "nothing to delete: the registry outlives the stack")
    if request not in ("Create", "Update"):
        return _failed(event, f"unknown RequestType {request!r}")
    actor = f"cloudformation:{_stack_name(str(event['StackId']))}"
    budget_s = (context.get_remaining_time_in_millis() - RESPONSE_RESERVE_MS) / 1000
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        outcome = pool.submit(sync, actor).result(timeout=max(budget_s, 1.0))
    except FutureTimeout:
        return _failed(event, f"the model layer was not synced within {budget_s:.0f} s")
    except LayerserveError as exc:
        return _failed(event, exc.message)
    finally:
        pool.shutdown(wait=False)
    logger.info("model layer synced", extra={"outcome": _data(outcome)})
    if outcome.problems:
        return _failed(event, "; ".join(outcome.problems))
    return _response(event, "SUCCESS", _summary(outcome), _data(outcome))


def _stack_name(stack_id: str) -> str:
    parts = stack_id.split("/")
    return parts[1] if len(parts) > 2 else stack_id


def _summary(outcome: LayerSync) -> str:
    return (
        f"{len(outcome.registered)} version(s) registered, {len(outcome.unchanged)} already "
        f"registered, {len(outcome.aliases)} default alias(es) created"
    )


def _listed(names: list[str]) -> str:
    shown = ", ".join(names)
    return shown if len(shown) <= MAX_LISTED else shown[: MAX_LISTED - 3] + "..."


def _data(outcome: LayerSync) -> dict[str, str]:
    aliases = [f"{model}:{target}" for model, target in sorted(outcome.aliases.items())]
    return {
        "Registered": _listed(outcome.registered),
        "Unchanged": _listed(outcome.unchanged),
        "Aliases": _listed(aliases),
    }


def _failed(event: Mapping[str, Any], reason: str) -> dict[str, Any]:
    return _response(event, "FAILED", reason)


def _response(
    event: Mapping[str, Any], status: str, reason: str, data: dict[str, str] | None = None
) -> dict[str, Any]:
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 3] + "..."
    answer: dict[str, Any] = {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": event.get("PhysicalResourceId") or PHYSICAL_ID,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event.get("LogicalResourceId", ""),
    }
    if data:
        answer["Data"] = data
    return answer
