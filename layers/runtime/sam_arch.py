"""Print the architecture ``sam build`` chose for the runtime layer, if it can be read.

SAM runs the layer's make target without telling it the architecture, but it writes its
build plan (``build.toml``, next to the build directory) before building. Reading it lets
``sam build --parameter-overrides Architecture=arm64`` build arm64 wheels even when ARCH
is not exported. Prints nothing when there is no such plan; the Makefile then falls back
to x86_64, the template's default.

    python sam_arch.py ARTIFACTS_DIR [LAYER_LOGICAL_ID]
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ARCHITECTURES = frozenset({"x86_64", "arm64"})


def planned_architecture(artifacts_dir: Path, layer: str) -> str | None:
    """The architecture of ``layer`` in the plan of the build writing ``artifacts_dir``."""
    plan = artifacts_dir.resolve().parent.parent / "build.toml"
    if artifacts_dir.name != layer or not plan.is_file():
        return None
    try:
        definitions = tomllib.loads(plan.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    for definition in definitions.get("layer_build_definitions", {}).values():
        if definition.get("layer_name") == layer:
            architecture = definition.get("architecture")
            return architecture if architecture in ARCHITECTURES else None
    return None


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        sys.stderr.write("usage: sam_arch.py ARTIFACTS_DIR [LAYER_LOGICAL_ID]\n")
        return 2
    layer = argv[2] if len(argv) == 3 else "RuntimeLayer"
    architecture = planned_architecture(Path(argv[1]), layer)
    if architecture is not None:
        sys.stdout.write(architecture + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
