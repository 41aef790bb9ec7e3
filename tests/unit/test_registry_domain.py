"""Registry rules: alias moves, signature compatibility, artifact locations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from layerserve.domain.errors import ConflictError, InvalidInputError
from layerserve.domain.manifest import Signature, TensorSpec
from layerserve.domain.registry import (
    Alias,
    S3Uri,
    canary_routes,
    next_alias,
    promote_routes,
    rolled_back,
    signature_conflicts,
    stable_version,
    validate_location,
)
from layerserve.domain.registry.locations import same_location
from layerserve.domain.routing import Route

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def alias(*pairs: tuple[str, int], previous: tuple[tuple[str, int], ...] = ()) -> Alias:
    return Alias(
        model="m",
        name="production",
        routes=tuple(Route(version=v, weight=w) for v, w in pairs),
        previous_routes=tuple(Route(version=v, weight=w) for v, w in previous),
        revision=3,
        updated_at=NOW,
        updated_by="me",
    )


def test_next_alias_keeps_the_old_routes_as_rollback_target() -> None:
    current = alias(("1", 100))
    moved = next_alias(current, model="m", name="production", routes=promote_routes("2"),
                       actor="you", at=NOW)  # fmt: skip
    assert moved.revision == 4 and moved.pairs() == [("2", 100)]
    assert moved.previous_routes == current.routes
    back = rolled_back(moved, actor="you", at=NOW)
    assert back.routes == current.routes and back.previous_routes == () and back.revision == 5
    with pytest.raises(ConflictError, match="nothing to roll back"):
        rolled_back(back, actor="you", at=NOW)


def test_canary_splits_off_the_stable_version() -> None:
    assert [r.weight for r in canary_routes(alias(("1", 100)), "2", 10)] == [90, 10]
    ramped = canary_routes(alias(("1", 90), ("2", 10)), "2", 25)
    assert [(r.version, r.weight) for r in ramped] == [("1", 75), ("2", 25)]
    past_half = canary_routes(alias(("1", 25), ("2", 75)), "2", 90)
    assert [(r.version, r.weight) for r in past_half] == [("1", 10), ("2", 90)]
    replaced = canary_routes(alias(("1", 90), ("2", 10)), "3", 5)
    assert [(r.version, r.weight) for r in replaced] == [("1", 95), ("3", 5)]
    assert stable_version(alias(("1", 50), ("2", 50))) == "1"
    assert stable_version(alias(("1", 100)), excluding="1") is None
    with pytest.raises(InvalidInputError, match="already takes all traffic"):
        canary_routes(alias(("1", 100)), "1", 10)
    with pytest.raises(InvalidInputError, match="from 1 to 99"):
        canary_routes(alias(("1", 100)), "2", 100)


def test_referenced_versions_include_the_rollback_target() -> None:
    current = alias(("2", 90), ("3", 10), previous=(("1", 100),))
    assert current.referenced() == {"1", "2", "3"} and current.versions() == {"2", "3"}


def sig(inputs: list[tuple[str, str, tuple[int | str | None, ...]]]) -> Signature:
    specs = tuple(TensorSpec(name=n, datatype=d, shape=s) for n, d, s in inputs)
    return Signature(inputs=specs, outputs=(TensorSpec(name="y", datatype="FP32", shape=(1,)),))


@pytest.mark.parametrize(
    ("candidate", "problem"),
    [
        ([("x", "FP32", ("batch", 4))], None),
        ([("x", "FP32", ("n", None))], None),
        ([("z", "FP32", ("batch", 4))], "input names ['x'] → ['z']"),
        ([("x", "FP64", ("batch", 4))], "datatype FP32 → FP64"),
        ([("x", "FP32", ("batch", 5))], "dim 1 4 → 5"),
        ([("x", "FP32", (1, 4))], "dim 0 dynamic 'batch' → fixed 1"),
        ([("x", "FP32", ("batch",))], "rank 2 → 1"),
    ],
)
def test_signature_compatibility(
    candidate: list[tuple[str, str, tuple[int | str | None, ...]]], problem: str | None
) -> None:
    problems = signature_conflicts(sig([("x", "FP32", ("batch", 4))]), sig(candidate))
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problems[0].endswith(problem)


def test_a_fixed_dim_may_become_dynamic() -> None:
    assert signature_conflicts(sig([("x", "FP32", (1, 4))]), sig([("x", "FP32", ("b", 4))])) == []


def outputs(*shapes: tuple[int | str | None, ...]) -> Signature:
    specs = tuple(TensorSpec(name=f"y{i}", datatype="FP32", shape=s) for i, s in enumerate(shapes))
    x = TensorSpec(name="x", datatype="FP32", shape=("batch", 4))
    return Signature(inputs=(x,), outputs=specs)


def inputs(shape: tuple[int | str | None, ...]) -> Signature:
    x = TensorSpec(name="x", datatype="FP32", shape=shape)
    return Signature(inputs=(x,), outputs=(TensorSpec(name="y0", datatype="FP32", shape=(1,)),))


@pytest.mark.parametrize(
    ("side", "current", "candidate", "problem"),
    [
        # inputs may accept more
        ("input", ("batch", 384), ("batch", "width"), None),  # fixed → dynamic
        (
            "input",
            ("batch", "width"),
            ("batch", 384),
            "input 'x' dim 1 dynamic 'width' → fixed 384",
        ),
        ("input", ("batch", 384), ("batch", 512), "input 'x' dim 1 384 → 512"),
        ("input", ("batch", "width"), ("n", "w"), None),  # renamed dynamic dims
        ("input", ("batch", None), ("batch", 384), None),  # unknown promised nothing
        ("input", ("batch", 384), ("batch",), "input 'x' rank 2 → 1"),
        # outputs may become more specific
        ("output", ("batch", "dim_2"), ("batch", 384), None),  # dynamic → fixed
        (
            "output",
            ("batch", 384),
            ("batch", "dim_2"),
            "output 'y0' dim 1 fixed 384 → dynamic 'dim_2'",
        ),
        ("output", ("batch", 384), ("batch", 768), "output 'y0' dim 1 384 → 768"),
        ("output", ("batch", 384), ("batch", None), None),
        ("output", ("batch", 384), ("batch", 384, 1), "output 'y0' rank 2 → 3"),
    ],
)
def test_compatibility_is_directional(
    side: str,
    current: tuple[int | str | None, ...],
    candidate: tuple[int | str | None, ...],
    problem: str | None,
) -> None:
    build = inputs if side == "input" else outputs
    problems = signature_conflicts(build(current), build(candidate))
    assert problems == ([] if problem is None else [problem])


def test_minilm_plain_to_optimised_is_compatible_and_the_reverse_is_not() -> None:
    """The plain torch export leaves the hidden size symbolic; packaging fixes it."""
    plain = outputs(("batch", "sequence", "Addlast_hidden_state_dim_2"), ("batch", "dim_1"))
    optimised = outputs(("batch", "sequence", 384), ("batch", 384))
    assert signature_conflicts(plain, optimised) == []
    assert len(signature_conflicts(optimised, plain)) == 2


@pytest.mark.parametrize(
    "location",
    [
        "models/m/1",
        "m/1",
        "s3://art/artifacts/m/1/model.onnx.zst",
        "s3://art/artifacts/m/1/model.onnx.zst?versionId=3/L4kqtJl+rmSpX_d3-Ib.rHY=",
    ],
)
def test_allowed_locations(location: str) -> None:
    assert validate_location(location, "art") == location


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("/opt/models/m/1", "must be relative"),
        ("models/../../etc", "without '..'"),
        ("models/./m", "must be relative"),
        ("models//m", "must be relative"),
        ("s3://other/artifacts/m/1/model.onnx.zst", "outside the artifacts bucket"),
        ("s3://art", "bucket and a key"),
        ("s3://art/elsewhere/m/1/model.onnx.zst", "must be under artifacts/"),
        ("s3://art/artifacts/../secrets/x", "must be under artifacts/"),
        ("https://art.s3.amazonaws.com/k", "must be relative"),
        ("s3://art/artifacts/m/1/model.onnx.zst?versionId=", "takes no query but"),
        ("s3://art/artifacts/m/1/model.onnx.zst?acl=1", "takes no query but"),
        ("s3://art/artifacts/m/1/model.onnx.zst?versionId=a b", "takes no query but"),
    ],
)
def test_refused_locations(location: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        validate_location(location, "art")


def test_s3_locations_need_a_configured_bucket() -> None:
    with pytest.raises(InvalidInputError, match="none configured"):
        validate_location("s3://art/k", None)


def test_a_pinned_s3_uri_round_trips_and_matches_its_unpinned_form() -> None:
    plain = S3Uri.parse("s3://art/artifacts/m/1/model.onnx.zst")
    pinned = plain.pinned("v2+/x=")
    assert str(pinned) == "s3://art/artifacts/m/1/model.onnx.zst?versionId=v2+/x="
    assert S3Uri.parse(str(pinned)) == pinned and pinned.version_id == "v2+/x="
    assert plain.pinned("null") == plain and plain.pinned(None) == plain
    assert same_location(str(pinned), str(plain)) and same_location(str(plain), str(pinned))
    assert not same_location(str(pinned), str(plain.pinned("other")))
    assert not same_location(str(pinned), "s3://art/artifacts/m/2/model.onnx.zst")
    assert same_location("models/m/1", "models/m/1")
    assert not same_location("models/m/1", str(plain))
