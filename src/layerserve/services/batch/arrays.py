"""NumPy input: ``.npy`` (one array) and ``.npz`` (named arrays), read row by row.

Only headers and the rows of the current batch are ever in memory. Arrays stored
uncompressed (``np.save``, ``np.savez``) are read with ranged reads from any row on;
compressed members (``np.savez_compressed``) are inflated as a stream.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from math import prod
from typing import IO, Any, Final, Protocol

import numpy as np

from layerserve.domain.errors import InvalidInputError
from layerserve.services.batch.ports import ObjectReader
from layerserve.services.batch.state import Job

MAGIC: Final = b"\x93NUMPY"
LOCAL_HEADER: Final = struct.Struct("<4s5H3I2H")


@dataclass(frozen=True, slots=True)
class ArrayHeader:
    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    fortran_order: bool
    data_offset: int
    """Bytes from the start of the ``.npy`` data to the first element."""

    @property
    def rows(self) -> int:
        return self.shape[0] if self.shape else 1

    @property
    def row_shape(self) -> tuple[int, ...]:
        return self.shape[1:]

    @property
    def row_bytes(self) -> int:
        return prod(self.row_shape) * self.dtype.itemsize


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def tell(self) -> int: ...


def parse_npy_header(raw: Readable, what: str) -> ArrayHeader:
    """The header of the ``.npy`` data that ``raw`` is positioned at."""
    try:
        version = np.lib.format.read_magic(raw)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(raw)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(raw)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except ValueError as exc:
        raise InvalidInputError(f"{what} is not a readable .npy array: {exc}") from None
    if dtype.hasobject:
        raise InvalidInputError(f"{what} holds Python objects; only plain numeric arrays are read")
    if fortran and len(shape) > 1:
        raise InvalidInputError(f"{what} is Fortran-ordered; save it C-ordered")
    if not shape:
        raise InvalidInputError(f"{what} is a scalar; its first axis must index rows")
    return ArrayHeader(dtype, tuple(shape), bool(fortran), raw.tell())


class RangedFile(io.RawIOBase):
    """A read-only, seekable view of an object version, backed by ranged reads."""

    def __init__(self, reader: ObjectReader, job: Job, readahead: int) -> None:
        self._reader = reader
        self._job = job
        self._readahead = readahead
        self._position = 0
        self._cache_start = 0
        self._cache = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._job.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self._job.size - self._position)
        if wanted <= 0:
            return 0
        start = self._position - self._cache_start
        if start < 0 or start + wanted > len(self._cache):
            end = min(self._job.size, self._position + max(wanted, self._readahead))
            self._cache = self._reader.read(self._job.source, self._position, end)
            self._cache_start, start = self._position, 0
        view[:wanted] = self._cache[start : start + wanted]
        self._position += wanted
        return wanted


class RowStream:
    """Consecutive rows of one array, from a byte stream of its data."""

    def __init__(self, header: ArrayHeader, chunks: Iterator[bytes], what: str) -> None:
        self._header = header
        self._chunks = chunks
        self._buffer = bytearray()
        self._offset = 0
        """Bytes of ``_buffer`` already handed out: dropped once per chunk, not per read
        (deleting the head of a bytearray moves everything after it)."""
        self._what = what

    def read(self, count: int) -> np.ndarray[Any, Any]:
        size = count * self._header.row_bytes
        while len(self._buffer) - self._offset < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                raise InvalidInputError(f"{self._what} ends before its last row (truncated file)")
            del self._buffer[: self._offset]
            self._offset = 0
            self._buffer += chunk
        with memoryview(self._buffer) as view:
            data = bytes(view[self._offset : self._offset + size])
        self._offset += size
        array = np.frombuffer(data, dtype=self._header.dtype)
        return array.reshape((count, *self._header.row_shape))


def member_chunks(member: IO[bytes], skip: int, chunk: int) -> Iterator[bytes]:
    while skip > 0:
        skipped = len(member.read(min(skip, chunk)))
        if not skipped:
            return
        skip -= skipped
    while block := member.read(chunk):
        yield block
