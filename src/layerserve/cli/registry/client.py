"""A small HTTP client for the registry API, SigV4-signed for API Gateway IAM auth."""

from __future__ import annotations

import re
from typing import Any, Final, Protocol
from urllib.parse import quote, urlencode

import botocore.session
import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest, AWSResponse
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError
from botocore.httpsession import URLLib3Session

from layerserve.cli.failures import CallError
from layerserve.domain.errors import InvalidInputError

SERVICE = "execute-api"
_REGION_IN_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")


class Sender(Protocol):
    def send(self, request: AWSPreparedRequest) -> AWSResponse: ...


class RegistryCallError(CallError):
    """The registry answered with an error (``status``) or could not be reached (0)."""


def path(*segments: str) -> str:
    return "/registry/" + "/".join(quote(segment, safe="") for segment in segments)


def checked_endpoint(endpoint: str) -> str:
    """The base URL without a trailing slash; refused unless it starts with a scheme."""
    if not endpoint.startswith(("http://", "https://")):
        raise InvalidInputError(
            f"--endpoint / LAYERSERVE_ENDPOINT '{endpoint}' needs a scheme, "
            f"e.g. http://{endpoint.removeprefix('//')}"
        )
    return endpoint.rstrip("/")


class RegistryClient:
    """Calls ``endpoint`` (the API's base URL, stage included); signs when it has credentials.

    Unsigned requests are fine for the local stack; API Gateway refuses them.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        credentials: Credentials | None,
        region: str,
        sender: Sender | None = None,
    ) -> None:
        self.endpoint = checked_endpoint(endpoint)
        self._credentials = credentials
        self._region = region
        self._sender = sender or URLLib3Session(timeout=60)

    @classmethod
    def from_environment(cls, endpoint: str, sender: Sender | None = None) -> RegistryClient:
        """Credentials from the default chain; region from the URL, the config, or us-east-1."""
        session = botocore.session.get_session()
        in_host = _REGION_IN_HOST.search(endpoint)
        region = in_host.group(1) if in_host else session.get_config_variable("region")
        return cls(
            endpoint,
            credentials=session.get_credentials(),
            region=region or "us-east-1",
            sender=sender,
        )

    def get(self, route: str, **query: str | int | None) -> Any:
        return self.call("GET", route, query=query)

    def post(self, route: str, body: dict[str, Any] | None = None) -> Any:
        return self.call("POST", route, body=body or {})

    def call(
        self,
        method: str,
        route: str,
        body: dict[str, Any] | None = None,
        query: dict[str, str | int | None] | None = None,
    ) -> Any:
        present = {key: value for key, value in (query or {}).items() if value is not None}
        url = self.endpoint + route + (f"?{urlencode(present)}" if present else "")
        data = orjson.dumps(body) if body is not None else b""
        headers = {"content-type": "application/json"} if body is not None else {}
        request = AWSRequest(method=method, url=url, data=data, headers=headers)
        if self._credentials is not None:
            SigV4Auth(self._credentials, SERVICE, self._region).add_auth(request)
        try:
            response = self._sender.send(request.prepare())
        except BotoCoreError as exc:
            reason = type(exc).__name__
            raise RegistryCallError(0, f"cannot reach {self.endpoint} ({reason})") from exc
        return _decode(response)


_CLI_WORDS: Final = (
    ("pass force=true", "pass --force"),
    ("body.policy.steps", "--steps"),
    ("body.policy.bake_seconds", "--bake"),
    ("body.policy.min_samples", "--min-samples"),
    ("body.policy.max_error_rate_increase", "--max-error-increase"),
    ("body.policy.max_p99_ratio", "--max-p99-ratio"),
    ("body.policy.max_psi", "--max-psi"),
    ("body.weight", "--weight"),
    ("body.expected_revision", "--revision"),
    ("body.reason", "--reason"),
)
"""The API names request fields; a deployer typed the CLI's flags."""


def in_cli_words(message: str) -> str:
    for api_word, flag in _CLI_WORDS:
        message = message.replace(api_word, flag)
    return message


def _decode(response: AWSResponse) -> Any:
    try:
        payload = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        payload = None
    if response.status_code < 400:
        return payload
    if isinstance(payload, dict) and isinstance(
        payload.get("error") or payload.get("message"), str
    ):
        message = str(payload.get("error") or payload.get("message"))
    else:
        message = response.text[:200] or "no details"
    message = in_cli_words(message)
    if isinstance(payload, dict) and "revision" in payload:
        message += f" (current revision {payload['revision']})"
    raise RegistryCallError(response.status_code, message)
