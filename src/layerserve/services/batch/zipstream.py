"""A ZIP64 archive of uncompressed members, written front to back as a stream.

Sizes and CRCs follow each member in a data descriptor, so nothing is ever rewritten
and the archive can be uploaded in parts; ``ZipState`` carries what the central
directory at the end needs. ``numpy.load`` and ``zipfile`` read the result.
"""

from __future__ import annotations

import struct
import zlib
from typing import Final

from layerserve.services.batch.sink import PartSink
from layerserve.services.batch.state import ZipEntry, ZipState

_VERSION: Final = 45  # ZIP64
_FLAGS: Final = 0x0808  # data descriptor follows; UTF-8 names
_DOS_TIME: Final = (0, (1980 - 1980) << 9 | 1 << 5 | 1)
_MAX32: Final = 0xFFFFFFFF
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_ZIP64_LOCAL_EXTRA = struct.Struct("<HHQQ")
_DESCRIPTOR = struct.Struct("<IIQQ")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_ZIP64_CENTRAL_EXTRA = struct.Struct("<HHQQQ")
_END64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR = struct.Struct("<IIQI")
_END = struct.Struct("<IHHHHIIH")


class ZipStreamWriter:
    def __init__(self, sink: PartSink, state: ZipState) -> None:
        self._sink = sink
        self.state = state

    def begin(self, name: str) -> None:
        encoded = name.encode("utf-8")
        extra = _ZIP64_LOCAL_EXTRA.pack(1, 16, 0, 0)
        header = _LOCAL.pack(
            0x04034B50, _VERSION, _FLAGS, 0, *_DOS_TIME, 0, _MAX32, _MAX32, len(encoded), len(extra)
        )
        self.state.current = ZipEntry(name=name, offset=self._sink.position)
        self._sink.write(header + encoded + extra)

    def write(self, data: bytes) -> None:
        entry = self.state.current
        assert entry is not None, "begin() a member first"
        entry.crc = zlib.crc32(data, entry.crc)
        entry.size += len(data)
        self._sink.write(data)

    def end(self) -> None:
        entry = self.state.current
        assert entry is not None, "begin() a member first"
        self._sink.write(_DESCRIPTOR.pack(0x08074B50, entry.crc, entry.size, entry.size))
        self.state.entries.append(entry)
        self.state.current = None

    def add(self, name: str, data: bytes) -> None:
        self.begin(name)
        self.write(data)
        self.end()

    def finish(self) -> None:
        start = self._sink.position
        for entry in self.state.entries:
            self._sink.write(_central(entry))
        end64 = self._sink.position
        count = len(self.state.entries)
        size = end64 - start
        self._sink.write(
            _END64.pack(0x06064B50, 44, _VERSION, _VERSION, 0, 0, count, count, size, start)
            + _LOCATOR.pack(0x07064B50, 0, end64, 1)
            + _END.pack(0x06054B50, 0, 0, min(count, 0xFFFF), min(count, 0xFFFF), _MAX32, _MAX32, 0)
        )


def _central(entry: ZipEntry) -> bytes:
    encoded = entry.name.encode("utf-8")
    extra = _ZIP64_CENTRAL_EXTRA.pack(1, 24, entry.size, entry.size, entry.offset)
    header = _CENTRAL.pack(
        0x02014B50,
        _VERSION,
        _VERSION,
        _FLAGS,
        0,
        *_DOS_TIME,
        entry.crc,
        _MAX32,
        _MAX32,
        len(encoded),
        len(extra),
        0,
        0,
        0,
        0,
        _MAX32,
    )
    return header + encoded + extra
