"""Print the runtime dependencies of the project, one requirement per line.

The runtime layer installs exactly ``[project] dependencies`` from pyproject.toml, so the
pins live in one place. Each must be an exact ``==`` pin, and the AWS SDK must not be among
them: Lambda's python3.12 runtime already provides boto3 and botocore.

    python deps.py ../../pyproject.toml > requirements.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PROVIDED_BY_LAMBDA = frozenset({"boto3", "botocore", "s3transfer"})
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalise(name: str) -> str:
    """The PEP 503 form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements(pyproject: Path) -> list[str]:
    """The ``[project] dependencies`` of ``pyproject``, checked for the layer."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    requirements = [str(item) for item in project.get("dependencies", [])]
    if not requirements:
        raise ValueError(f"{pyproject}: [project] dependencies is empty")
    for requirement in requirements:
        check(requirement)
    return requirements


def check(requirement: str) -> None:
    """Refuse unpinned requirements and packages that Lambda already provides."""
    match = _NAME.match(requirement)
    if match is None:
        raise ValueError(f"unreadable requirement '{requirement}'")
    if normalise(match.group(1)) in PROVIDED_BY_LAMBDA:
        raise ValueError(f"'{requirement}' is provided by Lambda and must not ship in the layer")
    if "==" not in requirement:
        raise ValueError(f"'{requirement}' is not pinned with '=='")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: deps.py PYPROJECT_TOML\n")
        return 2
    try:
        requirements = runtime_requirements(Path(argv[1]))
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    sys.stdout.write("".join(f"{requirement}\n" for requirement in requirements))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
