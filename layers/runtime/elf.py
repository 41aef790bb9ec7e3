"""ELF helpers for the runtime layer build: which machine a file targets, and stripping it.

Only a binutils ``strip`` whose BFD targets include the layer's architecture is used; a
host ``strip`` that does not understand aarch64 is never let loose on arm64 objects.
``strip`` can also break libraries that auditwheel rewrote with patchelf (their loadable
segments stop being page-congruent: "ELF load command address/offset not page-aligned"),
so a stripped copy is kept only when it is smaller and still loadable.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
PT_LOAD = 1
_PHDR = struct.Struct("<IIQQQQQQ")  # Elf64_Phdr, little-endian


@dataclass(frozen=True)
class Arch:
    machine: int  # ELF e_machine
    bfd: str  # binutils target name
    strip_tools: tuple[str, ...]  # candidates, most specific first


ARCHES = {
    "x86_64": Arch(62, "elf64-x86-64", ("x86_64-linux-gnu-strip", "strip")),
    "arm64": Arch(183, "elf64-littleaarch64", ("aarch64-linux-gnu-strip", "strip")),
}


def elf_machine(path: Path) -> int | None:
    """The ELF ``e_machine`` of ``path``, or ``None`` when it is not a little-endian ELF."""
    with path.open("rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or not header.startswith(ELF_MAGIC) or header[5] != 1:
        return None
    return int.from_bytes(header[18:20], "little")


def load_segments_aligned(path: Path) -> bool:
    """Whether every PT_LOAD segment of an ELF64 file has ``vaddr ≡ offset (mod align)``."""
    data = path.read_bytes()
    (phoff,) = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for index in range(phnum):
        kind, _, offset, vaddr, _, _, _, align = _PHDR.unpack_from(data, phoff + index * phentsize)
        if kind == PT_LOAD and align > 1 and (vaddr - offset) % align:
            return False
    return True


def _understands(tool: str, bfd: str) -> bool:
    try:
        result = subprocess.run([tool, "--help"], capture_output=True, text=True, check=False)
    except OSError:
        return False
    targets = next(
        (line for line in result.stdout.splitlines() if "supported targets:" in line), ""
    )
    return bfd in targets.split()


def find_strip(arch: str) -> str | None:
    """Path of a ``strip`` able to rewrite ``arch`` objects, or ``None``."""
    spec = ARCHES[arch]
    for name in spec.strip_tools:
        tool = shutil.which(name)
        if tool is not None and _understands(tool, spec.bfd):
            return tool
    return None


def strip_file(tool: str, path: Path) -> bool:
    """Strip unneeded symbols from ``path`` via a temporary copy; ``False`` if not kept.

    The original is replaced only when strip succeeded and its output is smaller and
    still loadable; otherwise the file is left exactly as pip installed it.
    """
    stripped = path.with_name(path.name + ".stripped")
    result = subprocess.run(
        [tool, "--strip-unneeded", "-o", str(stripped), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    keep = (
        result.returncode == 0
        and stripped.stat().st_size < path.stat().st_size
        and load_segments_aligned(stripped)
    )
    if not keep:
        stripped.unlink(missing_ok=True)
        return False
    shutil.copymode(path, stripped)
    stripped.replace(path)
    return True
