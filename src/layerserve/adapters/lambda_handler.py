"""The shape of a Lambda handler: what the adapters build and the wiring hands to Lambda."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
"""``handler(event, context)``: ``context`` is Lambda's context object (or anything with
its attributes)."""
