"""Help that shows a flag as ``--force``, not ``--force <bool>``."""

from __future__ import annotations

from typer._click.core import Context, Parameter  # typer's own copy of click
from typer.core import TyperCommand, TyperGroup, TyperOption


def _plain_flags(params: list[Parameter]) -> list[Parameter]:
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


class FlagCommand(TyperCommand):
    """A command whose boolean flags take no value, so their help shows no value type."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        return _plain_flags(super().get_params(ctx))


class FlagGroup(TyperGroup):
    """The same for the top level's own flags (``--help``, completion)."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        return _plain_flags(super().get_params(ctx))
