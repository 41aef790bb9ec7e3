"""A Lambda function's published versions and aliases, through an injected client."""

from __future__ import annotations

from typing import Any


class LambdaVersions:
    def __init__(self, client: Any) -> None:
        """``client``: a boto3 Lambda client."""
        self._client = client

    def published(self, function: str) -> list[int]:
        pages = self._client.get_paginator("list_versions_by_function").paginate(
            FunctionName=function
        )
        return [
            int(item["Version"])
            for page in pages
            for item in page["Versions"]
            if item["Version"] != "$LATEST"
        ]

    def aliased(self, function: str) -> set[int]:
        found: set[int] = set()
        for page in self._client.get_paginator("list_aliases").paginate(FunctionName=function):
            for alias in page["Aliases"]:
                weights = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
                for version in [alias["FunctionVersion"], *weights]:
                    if version != "$LATEST":
                        found.add(int(version))
        return found

    def delete(self, function: str, version: int) -> None:
        self._client.delete_function(FunctionName=function, Qualifier=str(version))
