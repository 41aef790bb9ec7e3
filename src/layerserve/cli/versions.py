"""``layerserve prune-versions``: delete a function's old published versions.

With SnapStart each published version keeps a cached snapshot, billed while the version
is active, and every ``sam deploy`` that changes the inference function publishes one
(SAM retains the old ones). Run it after a deploy; it never deletes a version an alias
routes to, nor the newest ``--keep``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from layerserve.adapters.lambda_versions import LambdaVersions
from layerserve.services.version_pruning import prune


def prune_versions(
    function: Annotated[
        str, typer.Argument(help="Function name or ARN (stack output InferenceFunctionName).")
    ],
    keep: Annotated[
        int, typer.Option(min=1, help="Newest versions to keep besides the aliased ones.")
    ] = 3,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would be deleted.")
    ] = False,
    region: Annotated[str | None, typer.Option(help="AWS region (default: the SDK's).")] = None,
) -> None:
    """Delete old published versions of a Lambda function (SnapStart snapshots cost money)."""
    import boto3

    versions = LambdaVersions(boto3.client("lambda", region_name=region))
    plan = prune(versions, function, keep, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    console = Console()
    console.print(f"{function}: {verb} {_listed(plan.delete)}; kept {_listed(plan.keep)}")


def _listed(versions: tuple[int, ...]) -> str:
    return ", ".join(map(str, versions)) if versions else "none"
