"""Which arrays of an ``.npy`` / ``.npz`` upload feed which model inputs, checked up front."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from layerserve.domain.batch import InputFormat
from layerserve.domain.datatypes import numpy_dtype
from layerserve.domain.errors import InvalidInputError
from layerserve.domain.manifest import Signature, TensorSpec
from layerserve.services.batch.arrays import (
    LOCAL_HEADER,
    ArrayHeader,
    RangedFile,
    RowStream,
    member_chunks,
    parse_npy_header,
)
from layerserve.services.batch.ports import ObjectReader
from layerserve.services.batch.state import Job


@dataclass(frozen=True, slots=True)
class ArrayInput:
    spec: TensorSpec
    header: ArrayHeader
    data_start: int | None
    """Object offset of the first element when stored uncompressed, else ``None``."""
    member: str | None = None
    """The ``.npz`` member, when it must be inflated."""

    @property
    def dtype(self) -> np.dtype[Any]:
        return numpy_dtype(self.spec.datatype)


class ArrayFile:
    """Opens the arrays of one upload and streams their rows."""

    def __init__(self, reader: ObjectReader, job: Job, chunk: int) -> None:
        self._reader = reader
        self._job = job
        self._chunk = chunk

    def _file(self) -> io.BufferedReader:
        return io.BufferedReader(RangedFile(self._reader, self._job, self._chunk))

    def open(self, fmt: InputFormat, signature: Signature) -> list[ArrayInput]:
        found = self._npy(signature) if fmt is InputFormat.NPY else self._npz()
        return match_inputs(found, signature)

    def _npy(self, signature: Signature) -> dict[str, tuple[ArrayHeader, int | None, str | None]]:
        if len(signature.inputs) != 1:
            names = ", ".join(spec.name for spec in signature.inputs)
            raise InvalidInputError(f"this model takes several inputs ({names}): upload an .npz")
        header = parse_npy_header(self._file(), "the .npy file")
        return {signature.inputs[0].name: (header, header.data_offset, None)}

    def _npz(self) -> dict[str, tuple[ArrayHeader, int | None, str | None]]:
        try:
            archive = zipfile.ZipFile(self._file())
        except (zipfile.BadZipFile, OSError) as exc:
            raise InvalidInputError(f"the .npz file is not a readable ZIP archive: {exc}") from None
        found: dict[str, tuple[ArrayHeader, int | None, str | None]] = {}
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            what = f"array '{name}'"
            if info.compress_type == zipfile.ZIP_STORED:
                start = self._stored_start(info)
                file = self._file()
                file.seek(start)
                header = parse_npy_header(file, what)
                found[name] = (header, header.data_offset, None)
            else:
                with archive.open(info) as member:
                    header = parse_npy_header(member, what)
                found[name] = (header, None, info.filename)
        return found

    def _stored_start(self, info: zipfile.ZipInfo) -> int:
        end = info.header_offset + LOCAL_HEADER.size
        raw = self._reader.read(self._job.source, info.header_offset, end)
        fields = LOCAL_HEADER.unpack(raw)
        if fields[0] != b"PK\x03\x04":
            raise InvalidInputError(f"the .npz member '{info.filename}' has a corrupt header")
        return end + int(fields[-2]) + int(fields[-1])

    def rows(self, source: ArrayInput, first_row: int) -> RowStream:
        what = f"array '{source.spec.name}'"
        header = source.header
        if source.data_start is not None:
            start = source.data_start + first_row * header.row_bytes
            end = source.data_start + header.rows * header.row_bytes
            chunks = self._reader.stream(self._job.source, start, end)
            return RowStream(header, chunks, what)
        return RowStream(header, self._inflated(source, first_row), what)

    def _inflated(self, source: ArrayInput, first_row: int) -> Iterator[bytes]:
        assert source.member is not None
        with zipfile.ZipFile(self._file()) as archive, archive.open(source.member) as member:
            parse_npy_header(member, source.spec.name)
            skip = first_row * source.header.row_bytes
            yield from member_chunks(member, skip, self._chunk)


def match_inputs(
    found: dict[str, tuple[ArrayHeader, int | None, str | None]], signature: Signature
) -> list[ArrayInput]:
    """Every model input present once, shapes and datatypes compatible, rows aligned."""
    known = {spec.name for spec in signature.inputs}
    unknown = sorted(set(found) - known)
    if unknown:
        names = ", ".join(sorted(known))
        raise InvalidInputError(f"unknown array(s) {', '.join(unknown)} (model inputs: {names})")
    missing = [spec.name for spec in signature.inputs if spec.name not in found]
    if missing:
        raise InvalidInputError(f"missing array(s) for model input(s): {', '.join(missing)}")
    inputs = []
    for spec in signature.inputs:
        header, start, member = found[spec.name]
        check_array(spec, header)
        inputs.append(ArrayInput(spec, header, start, member))
    rows = {item.header.rows for item in inputs}
    if len(rows) > 1:
        raise InvalidInputError(f"arrays disagree on the number of rows: {sorted(rows)}")
    return inputs


def check_array(spec: TensorSpec, header: ArrayHeader) -> None:
    what = f"array '{spec.name}'"
    if len(header.shape) != len(spec.shape):
        raise InvalidInputError(
            f"{what} has rank {len(header.shape)}, the model input has rank {len(spec.shape)}"
        )
    batch = spec.shape[0]
    if isinstance(batch, int) and batch not in (-1, 1):
        raise InvalidInputError(
            f"model input '{spec.name}' has a fixed first dimension {batch}: not a batch axis"
        )
    for axis, (got, want) in enumerate(zip(header.shape, spec.shape, strict=True)):
        if axis and isinstance(want, int) and want >= 0 and got != want:
            raise InvalidInputError(
                f"{what} has size {got} on axis {axis}, the model expects {want}"
            )
    target = numpy_dtype(spec.datatype)
    if spec.datatype == "BYTES" or not np.can_cast(header.dtype, target, "same_kind"):
        raise InvalidInputError(
            f"{what} has dtype {header.dtype}, which does not convert to {spec.datatype}"
        )
