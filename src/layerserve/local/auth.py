"""What API Gateway's authorisers do, for the local gateway: SigV4 (IAM) and JWT.

``SigV4Authorizer`` recomputes a request's signature with botocore from the secret of
the access key it names (the stack's local credentials) and refuses the request unless
it matches, the scope is ``execute-api`` and the date is within five minutes; the caller
written to the event (and so to the registry's history) is derived from the verified
access key, never from anything else the client sends.

``LocalIssuer`` is a JWT issuer of the local stack's own (an RSA key pair made at start);
``JwtAuthorizer`` checks a bearer token's signature, ``iss``, ``aud`` (or ``client_id``),
``exp`` and ``nbf`` against it, as an HTTP API JWT authorizer checks its issuer's tokens.

A refusal is an ``AuthRefusal``: the status and ``message`` API Gateway would answer
(IAM 403, JWT 401); a grant is the event's ``requestContext.authorizer``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE: Final = "execute-api"
MAX_SKEW_S: Final = 300
LOCAL_ACCOUNT: Final = "000000000000"
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/\s,]+)/(?P<date>\d{8})/(?P<region>[^/\s,]+)/"
    r"(?P<service>[^/\s,]+)/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """What an authoriser sees of an HTTP request (``raw_path`` as sent, undecoded)."""

    method: str
    raw_path: str
    query: str
    headers: Mapping[str, str]
    """Lower-case names."""
    body: bytes


class AuthRefusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Authorizer(Protocol):
    def __call__(self, request: AuthRequest) -> dict[str, Any]:
        """The event's ``requestContext.authorizer``; raises ``AuthRefusal``."""
        ...


def caller_arn(access_key: str) -> str:
    return f"arn:aws:iam::{LOCAL_ACCOUNT}:user/{access_key}"


class SigV4Authorizer:
    """API Gateway's ``AWS_IAM`` authorisation against known ``access key -> secret`` pairs."""

    def __init__(self, secrets: Mapping[str, str], clock: Callable[[], float] = time.time) -> None:
        self._secrets = dict(secrets)
        self._clock = clock

    def __call__(self, request: AuthRequest) -> dict[str, Any]:
        header = request.headers.get("authorization")
        if not header:
            raise AuthRefusal(403, "Missing Authentication Token")
        found = _AUTHORIZATION.fullmatch(header.strip())
        if found is None:
            raise AuthRefusal(403, "Authorization header is not a SigV4 signature")
        key = found["key"]
        secret = self._secrets.get(key)
        if secret is None:
            raise AuthRefusal(403, "The security token included in the request is invalid")
        if found["service"] != SERVICE:
            raise AuthRefusal(403, f"Credential should be scoped to service '{SERVICE}'")
        stamp = self._timestamp(request, found["date"])
        expected = _signature(request, found, secret, stamp)
        if expected != found["signature"]:
            raise AuthRefusal(
                403,
                "The request signature we calculated does not match the signature you "
                "provided. Check your AWS Secret Access Key and signing method.",
            )
        identity = {"accessKey": key, "accountId": LOCAL_ACCOUNT, "callerId": key}
        return {"iam": identity | {"userArn": caller_arn(key)}}

    def _timestamp(self, request: AuthRequest, scope_date: str) -> str:
        stamp = request.headers.get("x-amz-date", "")
        try:
            signed_at = datetime.strptime(stamp, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
        except ValueError as exc:
            raise AuthRefusal(403, "the request has no valid X-Amz-Date") from exc
        if stamp[:8] != scope_date:
            raise AuthRefusal(403, "X-Amz-Date does not match the credential scope's date")
        if abs(self._clock() - signed_at.timestamp()) > MAX_SKEW_S:
            raise AuthRefusal(403, "Signature expired: X-Amz-Date is more than 5 minutes off")
        return stamp


def _signature(request: AuthRequest, found: re.Match[str], secret: str, stamp: str) -> str:
    """The signature botocore computes for exactly the headers the client signed."""
    signed = found["signed"].split(";")
    missing = [name for name in signed if name not in request.headers]
    if "host" not in signed or missing:
        raise AuthRefusal(403, "SignedHeaders must include host and name only sent headers")
    host = request.headers["host"]
    url = f"http://{host}{request.raw_path}" + (f"?{request.query}" if request.query else "")
    headers = {name: request.headers[name] for name in signed}
    aws_request = AWSRequest(method=request.method, url=url, headers=headers, data=request.body)
    aws_request.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(found["key"], secret), SERVICE, found["region"])
    canonical = signer.canonical_request(aws_request)
    signature: str = signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)
    return signature


# --- JWT -----------------------------------------------------------------------------------
@dataclass
class LocalIssuer:
    """An issuer of the local stack's own: an RSA key made at start, tokens it signs."""

    issuer: str
    audience: str
    key_id: str = field(default_factory=lambda: f"local-{uuid.uuid4().hex[:8]}")

    def __post_init__(self) -> None:
        from joserfc.jwk import RSAKey

        self._key = RSAKey.generate_key(2048, parameters={"kid": self.key_id})

    def token(self, subject: str = "local-user", ttl_s: int = 3600, **claims: Any) -> str:
        from joserfc import jwt

        now = int(time.time())
        body = {"iss": self.issuer, "aud": self.audience, "sub": subject, "iat": now}
        body |= {"exp": now + ttl_s} | claims
        token: str = jwt.encode({"alg": "RS256", "kid": self.key_id}, body, self._key)
        return token

    def public_key(self) -> Any:
        """The verification key (what the issuer's JWKS would publish)."""
        from joserfc.jwk import RSAKey

        return RSAKey.import_key(self._key.as_dict(private=False))


class JwtAuthorizer:
    """An HTTP API JWT authorizer for one issuer and audience."""

    def __init__(self, issuer: LocalIssuer) -> None:
        self._issuer = issuer
        self._key = issuer.public_key()

    def __call__(self, request: AuthRequest) -> dict[str, Any]:
        from joserfc import jwt
        from joserfc.errors import JoseError

        header = request.headers.get("authorization", "").strip()
        token = header[7:].strip() if header[:7].lower() == "bearer " else header
        if not token:
            raise AuthRefusal(401, "Unauthorized")
        try:
            decoded = jwt.decode(token, self._key, algorithms=["RS256"])
            claims: dict[str, Any] = dict(decoded.claims)
            self._validate(claims)
        except (JoseError, ValueError) as exc:
            raise AuthRefusal(401, "Unauthorized") from exc
        scope = claims.get("scope")
        scopes = scope.split() if isinstance(scope, str) else None
        return {"jwt": {"claims": claims, "scopes": scopes}}

    def _validate(self, claims: dict[str, Any]) -> None:
        from joserfc import jwt

        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self._issuer.issuer}, exp={"essential": True}
        )
        registry.validate(claims)
        audience = claims.get("aud", claims.get("client_id"))
        audiences = audience if isinstance(audience, list) else [audience]
        if self._issuer.audience not in audiences:
            raise ValueError("token is for another audience")
