"""The local stack enforces what API Gateway would: SigV4 on the registry, InferenceAuth on
the model routes (NONE, AWS_IAM, JWT), and the actor in the history is the verified key.

Gateway-level cases run an echo handler behind ``LocalGateway``; stack-level cases run
``LocalStack`` (moto server, real registry and inference handlers) in each auth mode.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from layerserve.local.auth import JwtAuthorizer, LocalIssuer, SigV4Authorizer
from layerserve.local.gateway import LocalGateway, Route
from layerserve.local.stack import LocalStack, StackOptions
from tests.guardrail_support import MODEL, build_layer
from tests.local_stack_support import local_stack
from tests.servers import serving

LOCAL = Credentials("local", "local")


def signed(
    method: str,
    url: str,
    body: bytes = b"",
    credentials: Credentials = LOCAL,
    region: str = "us-east-1",
    service: str = "execute-api",
    headers: dict[str, str] | None = None,
) -> dict[str, str]:
    """The headers botocore adds to sign ``method url`` (what the CLI and SDKs send)."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    SigV4Auth(credentials, service, region).add_auth(request)
    return dict(request.headers.items())


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    authorizer = event["requestContext"].get("authorizer")
    return {"statusCode": 200, "headers": {}, "body": orjson.dumps(authorizer).decode()}


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer("https://issuer.layerserve.invalid/test", "layerserve")


@pytest.fixture(scope="module")
def gateway(issuer: LocalIssuer) -> Iterator[str]:
    app = LocalGateway(
        [
            Route("/registry", echo, SigV4Authorizer({"local": "local"})),
            Route("/jwt", echo, JwtAuthorizer(issuer)),
            Route("/open", echo),
        ]
    )
    with serving(app) as address:
        yield f"http://{address}"


# --- SigV4 -----------------------------------------------------------------------------------
def test_a_valid_signature_passes_with_the_verified_caller(gateway: str) -> None:
    url = f"{gateway}/registry/models/iris/aliases?limit=5&after=a%20b"
    body = b'{"version": "2"}'
    headers = signed("POST", url, body, headers={"content-type": "application/json"})
    reply = httpx.post(url, content=body, headers=headers)
    assert reply.status_code == 200, reply.text
    iam = reply.json()["iam"]
    assert iam["userArn"] == "arn:aws:iam::000000000000:user/local"
    assert iam["accessKey"] == "local"


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "Missing Authentication Token"),
        ("garbage", "not a SigV4 signature"),
        ("Bearer eyJhbGciOi.x.y", "not a SigV4 signature"),
        ("zeroed signature", "signature we calculated does not match"),
        ("stale scope date", "credential scope's date"),
    ],
)
def test_unsigned_and_garbage_authorization_are_refused(
    gateway: str, authorization: str | None, message: str
) -> None:
    url = f"{gateway}/registry/models"
    headers = signed("GET", url)
    real = headers.pop("Authorization")
    if authorization == "zeroed signature":
        headers["Authorization"] = re.sub(r"Signature=\w+", "Signature=" + "0" * 64, real)
    elif authorization == "stale scope date":
        headers["Authorization"] = re.sub(r"/\d{8}/", "/20200101/", real)
    elif authorization is not None:
        headers["Authorization"] = authorization
    reply = httpx.get(url, headers=headers)
    assert reply.status_code == 403
    assert message in reply.json()["message"]


def test_a_wrong_secret_or_an_unknown_key_is_refused(gateway: str) -> None:
    url = f"{gateway}/registry/models"
    wrong = httpx.get(url, headers=signed("GET", url, credentials=Credentials("local", "nope")))
    assert wrong.status_code == 403
    assert "signature we calculated does not match" in wrong.json()["message"]
    spoof = httpx.get(url, headers=signed("GET", url, credentials=Credentials("admin", "x")))
    assert spoof.status_code == 403
    assert "security token" in spoof.json()["message"]


def test_a_body_or_path_changed_after_signing_is_refused(gateway: str) -> None:
    url = f"{gateway}/registry/models/iris/aliases/production/promote"
    headers = signed("POST", url, b'{"version": "1"}')
    assert httpx.post(url, content=b'{"version": "2"}', headers=headers).status_code == 403
    other = f"{gateway}/registry/models/fraud/aliases/production/promote"
    assert httpx.post(other, content=b'{"version": "1"}', headers=headers).status_code == 403
    assert httpx.post(url, content=b'{"version": "1"}', headers=headers).status_code == 200


def test_the_wrong_service_scope_and_an_old_signature_are_refused(gateway: str) -> None:
    url = f"{gateway}/registry/models"
    s3 = httpx.get(url, headers=signed("GET", url, service="s3"))
    assert s3.status_code == 403 and "execute-api" in s3.json()["message"]
    authorizer = SigV4Authorizer({"local": "local"}, clock=lambda: time.time() + 3600)
    app = LocalGateway([Route("/registry", echo, authorizer)])
    with serving(app) as address:
        late = f"http://{address}/registry/models"
        reply = httpx.get(late, headers=signed("GET", late))
    assert reply.status_code == 403 and "expired" in reply.json()["message"]


# --- JWT -------------------------------------------------------------------------------------
def test_a_token_of_the_local_issuer_passes_with_its_claims(
    gateway: str, issuer: LocalIssuer
) -> None:
    token = issuer.token("alice", scope="infer read")
    reply = httpx.get(f"{gateway}/jwt/x", headers={"authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text
    jwt = reply.json()["jwt"]
    assert jwt["claims"]["sub"] == "alice"
    assert jwt["scopes"] == ["infer", "read"]


def test_bad_tokens_are_unauthorized(gateway: str, issuer: LocalIssuer) -> None:
    stranger = LocalIssuer(issuer.issuer, issuer.audience)  # same names, another key
    bad = {
        "none": None,
        "garbage": "Bearer not-a-token",
        "other key": f"Bearer {stranger.token()}",
        "expired": f"Bearer {issuer.token(ttl_s=-60)}",
        "audience": f"Bearer {issuer.token(aud='someone-else')}",
        "issuer": f"Bearer {issuer.token(iss='https://evil.example')}",
    }
    for case, header in bad.items():
        headers = {} if header is None else {"authorization": header}
        reply = httpx.get(f"{gateway}/jwt/x", headers=headers)
        assert (reply.status_code, reply.json()) == (401, {"message": "Unauthorized"}), case


def test_open_routes_pass_anything(gateway: str) -> None:
    reply = httpx.get(f"{gateway}/open/x", headers={"authorization": "garbage"})
    assert (reply.status_code, reply.json()) == (200, None)


# --- the local stack in each InferenceAuth mode ----------------------------------------------
@pytest.fixture(params=["NONE", "AWS_IAM", "JWT"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[LocalStack, str]]:
    options = StackOptions(
        build_layer(tmp_path / "layer"), tmp_path / "scratch", inference_auth=request.param
    )
    with local_stack(options) as local, serving(local.start()) as address:
        yield local, f"http://{address}"


def test_the_stack_enforces_its_inference_auth_and_signs_the_history(
    stack: tuple[LocalStack, str],
) -> None:
    local, base = stack
    mode = local.options.inference_auth
    model = f"{base}/v2/models/{MODEL}"
    assert httpx.get(f"{base}/v2/health/ready").status_code == 200  # open in every mode
    unsigned = httpx.get(model)
    if mode == "NONE":
        assert unsigned.status_code == 200
    elif mode == "AWS_IAM":
        assert unsigned.status_code == 403
        assert httpx.get(model, headers=signed("GET", model)).status_code == 200
    else:
        assert local.issuer is not None
        assert unsigned.status_code == 401
        bearer = {"authorization": f"Bearer {local.issuer.token()}"}
        assert httpx.get(model, headers=bearer).status_code == 200
        assert httpx.get(model, headers=signed("GET", model)).status_code == 401

    history = f"{base}/registry/models/{MODEL}/history"
    body = orjson.dumps({"reason": "from the test"})
    archive = f"{base}/registry/models/{MODEL}/versions/does-not-matter/archive"
    wrong = signed("POST", archive, body, credentials=Credentials("local", "guess"))
    assert httpx.post(archive, content=body, headers=wrong).status_code == 403
    reply = httpx.get(history, headers=signed("GET", history))
    assert reply.status_code == 200
    actors = {entry["actor"] for entry in reply.json()["entries"]}
    assert actors == {"layerserve-dev"}, "the refused call wrote nothing"
    create = f"{base}/registry/models"
    name = f"signed-{mode.lower().replace('_', '-')}"  # moto's state outlives one stack
    payload = orjson.dumps({"name": name, "reason": "who am I"})
    headers = signed("POST", create, payload, headers={"content-type": "application/json"})
    assert httpx.post(create, content=payload, headers=headers).status_code == 201
    entries_url = f"{base}/registry/models/{name}/history"
    entries = httpx.get(entries_url, headers=signed("GET", entries_url)).json()["entries"]
    assert [entry["actor"] for entry in entries] == ["arn:aws:iam::000000000000:user/local"]
