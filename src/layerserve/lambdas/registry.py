"""Lambda entry point of the registry function (``functions/registry/app.py``).

The handler is wired by ``layerserve.bootstrap.registry`` from ``LAYERSERVE_*`` settings
on the first invocation. A deploy's custom resource is answered even when that wiring
fails (a setting missing): CloudFormation hears ``FAILED`` with the reason instead of
waiting for a timeout, and a stack can still be deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from layerserve.adapters.model_layer_resource import (
    Sync,
    is_custom_resource_event,
    on_custom_resource,
)
from layerserve.bootstrap.lazy import Handler, LazyHandler
from layerserve.bootstrap.registry import build_registry_handler
from layerserve.settings import RegistrySettings


def entry_point(build: Callable[[], Handler]) -> Handler:
    """A handler that runs ``build()`` on its first invocation and then delegates."""
    built = LazyHandler(build)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            wired = built.get()
        except Exception as exc:
            if not is_custom_resource_event(event):
                raise
            return on_custom_resource(event, context, _failing(exc))
        return wired(event, context)

    return handler


def _failing(exc: Exception) -> Sync:
    def sync(actor: str) -> Any:
        del actor
        raise exc

    return sync


handler = entry_point(lambda: build_registry_handler(RegistrySettings()))
