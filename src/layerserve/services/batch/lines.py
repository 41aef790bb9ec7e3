"""Splitting a byte stream into lines, with absolute offsets and a bound on line length."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

Line = tuple[bytes | None, int]
"""A line without its newline (``None`` when longer than the limit) and the offset after it."""


def split_lines(chunks: Iterable[bytes], offset: int, max_line: int) -> Iterator[Line]:
    """Lines of the stream that starts at byte ``offset``; memory stays within a chunk plus
    ``max_line`` bytes, because an overlong line is dropped as it streams past."""
    pending: list[bytes] = []
    pending_size = 0
    overlong = False
    position = offset
    for chunk in chunks:
        pieces = chunk.split(b"\n")
        for piece in pieces[:-1]:
            position += len(piece) + 1
            if overlong or pending_size + len(piece) > max_line:
                yield None, position
            else:
                yield (b"".join([*pending, piece]) if pending else piece), position
            pending, pending_size, overlong = [], 0, False
        tail = pieces[-1]
        position += len(tail)
        if not overlong and tail:
            pending.append(tail)
            pending_size += len(tail)
            if pending_size > max_line:
                pending, pending_size, overlong = [], 0, True
    if overlong:
        yield None, position
    elif pending_size:
        yield b"".join(pending), position
