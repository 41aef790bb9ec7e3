"""Line splitting over arbitrary chunk boundaries, with offsets and a length bound."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from layerserve.services.batch.lines import split_lines


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in pairwise(points)]


lines_strategy = st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), max_size=12)


@given(lines_strategy, st.lists(st.integers(min_value=0, max_value=200), max_size=8), st.booleans())
def test_lines_and_offsets_whatever_the_chunks(
    lines: list[bytes], cuts: list[int], trailing: bool
) -> None:
    data = b"\n".join(lines) + (b"\n" if trailing and lines else b"")
    got = list(split_lines(iter(_chunks(data, cuts)), 100, max_line=1000))
    expected = data.split(b"\n")
    if expected and expected[-1] == b"":
        expected.pop()
    assert [line for line, _ in got] == expected
    position = 0
    for (_, end), raw in zip(got, expected, strict=True):
        position += len(raw)
        if position < len(data):  # the newline after the line
            position += 1
        assert end == 100 + position


@given(st.lists(st.integers(min_value=0, max_value=300), max_size=6))
def test_overlong_lines_are_dropped_as_they_stream(cuts: list[int]) -> None:
    data = b"short\n" + b"x" * 250 + b"\nafter\n" + b"y" * 40
    got = list(split_lines(iter(_chunks(data, cuts)), 0, max_line=32))
    assert [line for line, _ in got] == [b"short", None, b"after", None]
    assert got[-1][1] == len(data)
    assert got[1][1] == 6 + 250 + 1
