"""The local seed registers a layer through the deploy's layer sync, then adds its canary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from layerserve.domain.errors import InvalidModelError
from layerserve.domain.layout import ARTIFACT_FILE
from layerserve.local.seed import ACTOR, seed_registry
from layerserve.services.registry.layer_sync import REASON
from tests import onnx_builders
from tests.packaged import package
from tests.registry_support import AwsRegistry, moto_registry


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsRegistry]:
    yield from moto_registry(monkeypatch)


@pytest.fixture
def layer(tmp_path: Path) -> Path:
    for version, offset in (("1", 1.0), ("2", 2.0), ("10", 3.0)):
        package(onnx_builders.shifted(offset), tmp_path, "m", version)
    package(onnx_builders.identity(), tmp_path, "solo", "1")
    return tmp_path / "models"


def test_the_default_alias_comes_from_the_layer_sync_and_the_canary_from_the_seed(
    aws: AwsRegistry, layer: Path
) -> None:
    seeded = {model.name: model for model in seed_registry(aws.service, layer, 10)}

    assert (seeded["m"].versions, seeded["m"].stable, seeded["m"].canary) == (
        ["1", "2", "10"],
        "2",
        "10",
    )
    assert (seeded["solo"].stable, seeded["solo"].canary) == ("1", None)
    alias = aws.service.aliases.get("m", "production")
    assert alias.pairs() == [("2", 90), ("10", 10)] and alias.revision == 2
    moves = [
        (entry.action.value, entry.actor, entry.reason)
        for entry in reversed(aws.service.history("m").entries)
        if entry.action.value in ("register", "promote", "canary")
    ]
    assert moves == [
        ("register", ACTOR, REASON),
        ("register", ACTOR, REASON),
        ("promote", ACTOR, REASON),
        ("register", ACTOR, REASON),
        ("canary", ACTOR, "local stack seed"),
    ]


def test_seeding_again_leaves_the_aliases_as_they_are(aws: AwsRegistry, layer: Path) -> None:
    seed_registry(aws.service, layer, 10)
    again = {model.name: model for model in seed_registry(aws.service, layer, 50)}
    assert (again["m"].stable, again["m"].canary, again["m"].canary_weight) == ("2", "10", 10)
    assert aws.service.aliases.get("m", "production").revision == 2


def test_a_broken_artifact_stops_the_seed_as_it_fails_a_deploy(
    aws: AwsRegistry, layer: Path
) -> None:
    (layer / "m" / "2" / ARTIFACT_FILE).write_bytes(b"truncated")
    with pytest.raises(InvalidModelError, match="m/2: the layer's artifact does not match"):
        seed_registry(aws.service, layer)
