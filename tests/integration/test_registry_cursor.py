"""A history cursor the registry did not hand out is the caller's 400, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from layerserve.api.registry_app import create_registry_app
from tests.integration.test_registry_api import register
from tests.registry_support import AwsRegistry, moto_registry

HISTORY = "/registry/models/m/history"


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as patch:
        for aws in moto_registry(patch):
            yield from _client(aws)


def _client(aws: AwsRegistry) -> Iterator[TestClient]:
    with TestClient(create_registry_app(aws.service)) as client:
        for version in ("1", "2", "3"):
            register(client, "m", version)
        yield client


@pytest.mark.parametrize(
    "cursor",
    [
        "é",  # non-ASCII
        "aGlzdCPpgq4",  # base64 of bytes that are not UTF-8
        "bm9wZQ",  # valid base64 of a key that is not a history key
        "a b",
        "=",
        "x" * 5000,  # longer than any key
        "\u2603" * 3,
        "%00",
    ],
)
def test_a_malformed_cursor_is_a_400(api: TestClient, cursor: str) -> None:
    response = api.get(HISTORY, params={"cursor": cursor})
    assert response.status_code == 400, response.text
    assert "invalid history cursor" in response.json()["error"]


def test_a_cursor_handed_out_still_pages(api: TestClient) -> None:
    first = api.get(HISTORY, params={"limit": 1}).json()
    second = api.get(HISTORY, params={"limit": 1, "cursor": first["next_cursor"]})
    assert second.status_code == 200
    assert second.json()["entries"] != first["entries"]
