"""The ``layerserve`` console script: says which extra to install when the CLI's are missing.

It imports nothing that only the ``cli`` extra brings before it has checked for it.
"""

from __future__ import annotations

import sys

from layerserve.cli.extra import CLI_EXTRA_HINT, is_cli_extra_module


def main() -> None:
    try:
        from layerserve.cli.main import run
    except ImportError as exc:
        if not is_cli_extra_module(exc.name):
            raise
        sys.stderr.write(f"layerserve: {CLI_EXTRA_HINT}\n")
        raise SystemExit(1) from None
    run()
