"""``python -m bench [NAME ...]``: run every bench module that exists, or the ones named.

Each bench module has a ``main()`` that prints its figures. The four known benches run
first, in order; any other module in ``bench/`` with a ``main()`` runs after them under
its module name. A known module that is not there (yet) is skipped with a note; a bench
that fails makes the run exit non-zero.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from bench.harness import conditions, machine

BENCHES = {
    "overhead": "bench.handler_overhead",
    "cold": "bench.cold_start",
    "metrics": "bench.metrics_cost",
    "aggregation": "bench.aggregation",
}
HELPERS = frozenset(
    {"__init__", "__main__", "harness", "models", "overhead_child", "cold_child", "snapstart_child"}
)
"""Modules of ``bench/`` that are not benches themselves."""


def available() -> dict[str, str]:
    """The known benches, then every other module of ``bench/`` (by its own name)."""
    found = dict(BENCHES)
    known = set(BENCHES.values())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        module = f"bench.{path.stem}"
        if path.stem not in HELPERS and module not in known:
            found[path.stem] = module
    return found


def run(name: str, module_name: str) -> bool:
    """Run one bench; False if it failed. A missing module is a skip, not a failure."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            return _failed(name)
        print(f"[{name}] skipped: {module_name} does not exist\n")
        return True
    except Exception:
        return _failed(name)
    if not callable(getattr(module, "main", None)):
        print(f"[{name}] skipped: {module_name} has no main()\n")
        return True
    print(f"[{name}] {module_name}")
    started = time.perf_counter()
    try:
        module.main()
    except Exception:
        return _failed(name)
    print(f"[{name}] done in {time.perf_counter() - started:.1f} s\n")
    return True


def _failed(name: str) -> bool:
    traceback.print_exc()
    print(f"[{name}] FAILED\n")
    return False


def parse(argv: list[str], benches: dict[str, str]) -> list[str]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"default: all of {', '.join(benches)}"
    )
    names: list[str] = parser.parse_args(argv).names
    unknown = [name for name in names if name not in benches]
    if unknown:
        parser.error(f"unknown bench {', '.join(unknown)}; choose from {', '.join(benches)}")
    return names or list(benches)


def main(argv: list[str]) -> int:
    benches = available()
    names = parse(argv, benches)
    print(f"Machine: {machine()}")
    print(f"Conditions before: {conditions()}\n")
    failed = [name for name in names if not run(name, benches[name])]
    print(f"Conditions after: {conditions()}")
    if failed:
        print(f"Failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
