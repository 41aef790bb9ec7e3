"""Key layout of batch jobs: parsing uploads, mirroring outputs, never self-triggering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerserve.domain.batch import (
    BatchLayout,
    InputFormat,
    created_objects,
    decode_event_key,
    encode_event_key,
    input_format,
    prefixes_overlap,
    rows_per_batch,
)
from layerserve.domain.errors import InvalidInputError

SAMPLE_EVENT = Path(__file__).resolve().parents[1] / "events" / "s3_object_created.json"
LAYOUT = BatchLayout()


@pytest.mark.parametrize(
    ("key", "model", "ref", "relative"),
    [
        ("inputs/mlp/day.jsonl", "mlp", None, "mlp/day.jsonl"),
        ("inputs/mlp/2/day.jsonl", "mlp", "2", "mlp/2/day.jsonl"),
        ("inputs/mlp/prod/2025/03/day one.csv", "mlp", "prod", "mlp/prod/2025/03/day one.csv"),
    ],
)
def test_parse_upload_keys(key: str, model: str, ref: str | None, relative: str) -> None:
    upload = LAYOUT.parse(key)
    assert upload is not None
    assert (upload.model, upload.ref, upload.relative) == (model, ref, relative)


@pytest.mark.parametrize(
    "key", ["outputs/mlp/day.jsonl", "inputs/mlp/", "inputs/day.jsonl", "inputs//x.jsonl", "x"]
)
def test_keys_that_are_not_inputs(key: str) -> None:
    assert LAYOUT.parse(key) is None


def test_outputs_mirror_the_input_key() -> None:
    upload = LAYOUT.parse("inputs/mlp/prod/a b/c+d é.npz")
    assert upload is not None
    assert LAYOUT.result_key(upload, InputFormat.NPZ) == "outputs/mlp/prod/a b/c+d é.npz.result.npz"
    assert LAYOUT.result_key(upload, InputFormat.JSONL).endswith(".npz.result.jsonl")
    assert LAYOUT.summary_key(upload) == "outputs/mlp/prod/a b/c+d é.npz.summary.json"
    assert LAYOUT.error_key(upload) == "outputs/mlp/prod/a b/c+d é.npz.error.json"
    assert LAYOUT.input_key("mlp", "c+d é.npz", "prod") == "inputs/mlp/prod/c+d é.npz"


@given(st.text(min_size=1, max_size=60).filter(lambda s: "\x00" not in s))
def test_no_output_key_can_trigger_the_function(rest: str) -> None:
    upload = LAYOUT.parse(LAYOUT.input_prefix + rest)
    if upload is None:
        return
    for fmt in InputFormat:
        for key in (
            LAYOUT.result_key(upload, fmt),
            LAYOUT.summary_key(upload),
            LAYOUT.error_key(upload),
        ):
            assert key.startswith(LAYOUT.output_prefix)
            assert not key.startswith(LAYOUT.input_prefix)
            assert LAYOUT.parse(key) is None


@pytest.mark.parametrize(
    ("inputs", "outputs"),
    [("inputs/", "inputs/"), ("data/", "data/out/"), ("data/in/", "data/"), ("in", "out/")],
)
def test_overlapping_or_malformed_prefixes_are_refused(inputs: str, outputs: str) -> None:
    with pytest.raises(InvalidInputError):
        BatchLayout(inputs, outputs)


def test_overlap_rule() -> None:
    assert prefixes_overlap("a/", "a/b/")
    assert not prefixes_overlap("inputs/", "outputs/")
    assert not prefixes_overlap("data/in/", "data/out/")


def test_s3_encodes_keys_as_forms_do() -> None:
    assert encode_event_key("inputs/m/my file+1é.jsonl") == "inputs/m/my+file%2B1%C3%A9.jsonl"
    assert decode_event_key("inputs/m/my+file%2B1%C3%A9.jsonl") == "inputs/m/my file+1é.jsonl"


@given(st.text(max_size=80))
def test_event_keys_round_trip(key: str) -> None:
    assert decode_event_key(encode_event_key(key)) == key


def test_created_objects_reads_the_aws_sample_event() -> None:
    event = json.loads(SAMPLE_EVENT.read_text())
    event["Records"][0]["s3"]["object"]["key"] = "inputs/mlp/a+b%2Bc.jsonl"
    (found,) = created_objects(event)
    assert found.bucket == "uploads-bucket"
    assert found.key == "inputs/mlp/a b+c.jsonl"
    assert found.etag == "d41d8cd98f00b204e9800998ecf8427e"
    assert found.version_id == "096fKKXTRTtl3on89fVO.nfljtsv6qko"
    assert found.identity == found.version_id
    del event["Records"][0]["s3"]["object"]["versionId"]
    (unversioned,) = created_objects(event)
    assert unversioned.identity == unversioned.etag


def test_created_objects_skips_other_events() -> None:
    event = json.loads(SAMPLE_EVENT.read_text())
    event["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert created_objects(event) == []
    assert created_objects({"Event": "s3:TestEvent"}) == []


def test_formats_by_extension() -> None:
    assert input_format("a/B.JSONL") is InputFormat.JSONL
    assert input_format("x.ndjson") is InputFormat.JSONL
    assert input_format("x.csv") is InputFormat.CSV
    assert input_format("x.npy").is_array
    assert input_format("x.npz").result_extension == "npz"
    with pytest.raises(InvalidInputError, match="unsupported input format"):
        input_format("x.parquet")


def test_rows_per_batch_respects_the_byte_budget() -> None:
    assert rows_per_batch(256, 64, 1 << 20) == 256
    assert rows_per_batch(256, 1 << 20, 4 << 20) == 4
    assert rows_per_batch(256, 1 << 30, 4 << 20) == 1


def test_outputs_of_keys_near_s3s_limit_stay_valid_keys() -> None:
    layout = BatchLayout()
    relative = "iris/" + "ü" * 500 + ".jsonl"  # 1,005 bytes: mirrored outputs would not fit
    upload = layout.parse(f"inputs/{relative}")
    assert upload is not None
    keys = [
        layout.result_key(upload, InputFormat.JSONL),
        layout.summary_key(upload),
        layout.error_key(upload),
    ]
    assert all(key.startswith("outputs/_long-keys/") for key in keys)
    assert all(len(key.encode()) <= 1024 for key in keys)
    assert layout.summary_key(upload) == layout.summary_key(upload)
    assert layout.parse(keys[0]) is None  # still never an input
