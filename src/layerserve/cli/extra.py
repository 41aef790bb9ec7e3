"""What the command line needs beyond the runtime set: the ``cli`` extra."""

from __future__ import annotations

from typing import Final

CLI_EXTRA_HINT: Final = "the command line needs the 'cli' extra: pip install 'layerserve[cli]'"
CLI_EXTRA_MODULES: Final = frozenset(
    {"typer", "click", "rich", "uvicorn", "boto3", "botocore", "moto", "onnx", "skl2onnx",
     "sklearn"}
)  # fmt: skip


def is_cli_extra_module(name: str | None) -> bool:
    """Whether a missing module ``name`` (``a.b.c``) comes with the ``cli`` extra."""
    return name is not None and name.split(".")[0] in CLI_EXTRA_MODULES
