"""Trim a ``pip install --target`` tree into a Lambda runtime layer and report its size.

Removes what the inference path never loads (onnxruntime's offline tooling, test suites,
type stubs, C headers, console scripts, install bookkeeping), checks that every shared
object was built for the layer's architecture, and strips their symbol tables with a
binutils ``strip`` that understands that architecture (skipped, with a message, when there
is none). Distribution METADATA stays: pydantic, fastapi and onnxruntime read versions
through ``importlib.metadata``; licence files stay too.

    python trim.py --arch x86_64 ARTIFACTS_DIR/python
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from elf import ARCHES, elf_machine, find_strip, strip_file

# Paths (globs, relative to the layer's python/ folder) the runtime never imports.
DROP_GLOBS = (
    "bin",  # console scripts with the build host's shebang
    "onnxruntime/tools",  # model conversion and profiling helpers (need onnx)
    "onnxruntime/quantization",  # offline quantisation: packaging time only
    "onnxruntime/transformers",  # transformer graph optimisers
    "onnxruntime/backend",  # ONNX backend test API (imports onnx)
    "onnxruntime/datasets",  # sample models
    "numpy/f2py",  # Fortran wrapper generator
    "numpy/_core/include",  # C headers
    "numpy/_core/lib",  # static npymath and pkg-config files
    "numpy/_pyinstaller",
    "numpy/random/_examples",
    # The C API library for native callers (29 MiB): the Python extension links
    # onnxruntime in statically and never loads it (readelf: no NEEDED entry).
    "onnxruntime/capi/libonnxruntime.so.*",
    "google/protobuf",  # onnxruntime requires it for its offline tools only (2.6 MiB)
    "flatbuffers",  # likewise: onnxruntime's tools
    "zstandard/_cffi.*",  # CFFI backend: CPython always loads backend_c, cffi is not shipped
    "zstandard/backend_cffi.py",
)
DROP_DIR_NAMES = frozenset({"tests", "__pycache__"})
DROP_SUFFIXES = frozenset({".pyi", ".pxd", ".pyx", ".h", ".hpp"})
DIST_INFO_DROP = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
MIB = 1024 * 1024


def tree_size(root: Path) -> int:
    """Bytes of every regular file under ``root`` (what Lambda counts once unzipped)."""
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _unwanted(path: Path) -> bool:
    if path.is_dir():
        return path.name in DROP_DIR_NAMES
    if path.parent.name.endswith(".dist-info"):
        return path.name in DIST_INFO_DROP
    return path.suffix in DROP_SUFFIXES


def trim(root: Path) -> int:
    """Delete what the runtime does not need; return how many paths were removed."""
    removed = 0
    for pattern in DROP_GLOBS:
        for path in sorted(root.glob(pattern)):
            _remove(path)
            removed += 1
    for path in sorted(root.rglob("*"), reverse=True):  # children before their parents
        if path.exists() and _unwanted(path):
            _remove(path)
            removed += 1
    return removed


def shared_objects(root: Path, arch: str) -> list[Path]:
    """Every ELF file under ``root``; refuse any built for another architecture."""
    found: list[Path] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        machine = elf_machine(path)
        if machine is None:
            continue
        if machine != ARCHES[arch].machine:
            name = path.relative_to(root)
            raise ValueError(f"{name} is not built for {arch} (ELF machine {machine})")
        found.append(path)
    return found


def strip_all(objects: list[Path], arch: str) -> int:
    """Strip ``objects`` in place; return how many were stripped.

    Libraries that auditwheel vendored into ``<package>.libs/`` were rewritten by patchelf
    and are left alone: strip is known to break them and they carry little to strip.
    """
    tool = find_strip(arch)
    if tool is None:
        _say(f"strip: no binutils strip that understands {arch} found; shared objects kept as is")
        return 0
    candidates = [path for path in objects if not path.parent.name.endswith(".libs")]
    return sum(strip_file(tool, path) for path in candidates)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _report(stage: str, size: int, before: int | None = None, note: str = "") -> None:
    delta = "" if before is None else f" ({(size - before) / MIB:+.1f} MiB{note})"
    _say(f"runtime layer {stage:<9} {size / MIB:7.1f} MiB  {size:>11} bytes{delta}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=sorted(ARCHES), required=True)
    parser.add_argument("--no-strip", action="store_true", help="keep shared objects as they are")
    parser.add_argument("root", type=Path, help="the layer's python/ folder")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"{args.root} is not a directory")
    installed = tree_size(args.root)
    _report("installed", installed)
    removed = trim(args.root)
    trimmed = tree_size(args.root)
    _report("trimmed", trimmed, installed, f", {removed} paths removed")
    try:
        objects = shared_objects(args.root, args.arch)
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    stripped = 0 if args.no_strip else strip_all(objects, args.arch)
    _report("stripped", tree_size(args.root), trimmed, f", {stripped}/{len(objects)} objects")
    return 0


if __name__ == "__main__":
    sys.exit(main())
