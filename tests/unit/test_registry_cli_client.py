"""The CLI's registry client: SigV4 signing for execute-api, error decoding; S3 event parsing."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.credentials import Credentials

from layerserve.cli.registry import RegistryCallError, RegistryClient
from layerserve.cli.registry.client import path
from layerserve.services.registry import is_s3_event, uploaded_objects

API = "https://abc123.execute-api.eu-west-1.amazonaws.com"


class Recorder:
    def __init__(self, status: int = 200, body: Any = None) -> None:
        self.requests: list[AWSPreparedRequest] = []
        self._status = status
        self._body = orjson.dumps(body) if body is not None else b""

    def send(self, request: AWSPreparedRequest) -> AWSResponse:
        self.requests.append(request)
        raw = _Raw(self._body)
        return AWSResponse(request.url, self._status, {}, raw)  # type: ignore[arg-type]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *_: object, **__: object) -> Any:
        yield self._body


def test_requests_are_sigv4_signed_for_execute_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    sender = Recorder(body={"ok": True})
    client = RegistryClient.from_environment(API + "/", sender=sender)
    assert client.post(path("models", "m", "aliases", "production", "rollback")) == {"ok": True}
    request = sender.requests[0]
    assert request.url == f"{API}/registry/models/m/aliases/production/rollback"
    auth = request.headers["Authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in auth
    assert "x-amz-date" in {key.lower() for key in request.headers}


def test_without_credentials_requests_go_unsigned() -> None:
    sender = Recorder(body={"models": []})
    client = RegistryClient("http://127.0.0.1:1", credentials=None, region="us-east-1",
                            sender=sender)  # fmt: skip
    assert client.get(path("models"), limit=5, cursor=None) == {"models": []}
    assert "Authorization" not in sender.requests[0].headers
    assert sender.requests[0].url.endswith("/registry/models?limit=5")


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (409, {"error": "alias moved", "revision": 7}, "alias moved (current revision 7)"),
        (403, {"message": "Forbidden"}, "Forbidden"),
        (502, None, "no details"),
    ],
)
def test_errors_become_one_message(status: int, body: Any, message: str) -> None:
    client = RegistryClient(API, credentials=Credentials("a", "b"), region="eu-west-1",
                            sender=Recorder(status, body))  # fmt: skip
    with pytest.raises(RegistryCallError) as caught:
        client.get(path("models"))
    assert (caught.value.status, caught.value.message) == (status, message)


def test_path_segments_are_quoted() -> None:
    assert path("models", "a/b", "versions") == "/registry/models/a%2Fb/versions"


def test_s3_event_keys_are_url_decoded() -> None:
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "userIdentity": {"principalId": "AWS:AIDA1"},
                "s3": {"bucket": {"name": "b"}, "object": {"key": "artifacts/my+model/1%2B2/x"}},
            }
        ]
    }
    assert is_s3_event(event) and not is_s3_event({"Records": []})
    [uploaded] = uploaded_objects(event)
    assert (uploaded.bucket, uploaded.key, uploaded.uploader) == (
        "b",
        "artifacts/my model/1+2/x",
        "AWS:AIDA1",
    )
