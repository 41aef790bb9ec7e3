"""How a batch job carries on: an asynchronous invocation of this very function, and
the time left in the current one (both over what Lambda hands the handler)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import orjson
from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError as AwsClientError

from layerserve.domain.errors import ServiceUnavailableError


class LambdaInvoker(Protocol):
    """The one method of a boto3 Lambda client this needs (injected; faked in tests)."""

    def invoke(self, **kwargs: Any) -> Mapping[str, Any]: ...


class SelfInvoker:
    """``Continuer``: ``Invoke`` with ``InvocationType=Event`` on the running function."""

    def __init__(self, client: LambdaInvoker, function_arn: str) -> None:
        self._client = client
        self._function_arn = function_arn

    def schedule(self, payload: dict[str, Any]) -> None:
        try:
            reply = self._client.invoke(
                FunctionName=self._function_arn,
                InvocationType="Event",
                Payload=orjson.dumps(payload),
            )
        except (AwsClientError, BotoCoreError) as exc:
            raise ServiceUnavailableError(f"cannot continue the job: {exc}") from exc
        if reply.get("StatusCode") != 202:
            raise ServiceUnavailableError(
                f"cannot continue the job: Invoke answered {reply.get('StatusCode')}"
            )


class ContextClock:
    """``Clock`` over the Lambda context."""

    def __init__(self, context: Any) -> None:
        self._context = context

    def remaining_s(self) -> float:
        return float(self._context.get_remaining_time_in_millis()) / 1000.0
