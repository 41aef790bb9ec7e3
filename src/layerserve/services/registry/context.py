"""What every registry use case shares: the store, a clock, ids, and history entries."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import JsonValue

from layerserve.domain.errors import InvalidInputError
from layerserve.domain.guardrails import Figure
from layerserve.domain.registry import ALIAS_PATTERN, MODEL_PATTERN, HistoryAction, HistoryEntry
from layerserve.domain.routing import VERSION_PATTERN
from layerserve.services.registry.ports import RegistryStore

Clock = Callable[[], datetime]
_MODEL = re.compile(MODEL_PATTERN)
_VERSION = re.compile(VERSION_PATTERN)
_ALIAS = re.compile(ALIAS_PATTERN)


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


def check_model_name(name: str) -> str:
    if not _MODEL.fullmatch(name):
        raise InvalidInputError(f"'{name[:80]}' is not a valid model name")
    return name


def check_version_name(name: str) -> str:
    if not _VERSION.fullmatch(name):
        raise InvalidInputError(f"'{name[:80]}' is not a valid version name")
    return name


def check_alias_name(name: str) -> str:
    if not _ALIAS.fullmatch(name):
        raise InvalidInputError(
            f"'{name}' is not a valid alias name (a letter, then letters, digits, '-' or '_')"
        )
    return name


@dataclass(frozen=True, slots=True)
class Context:
    store: RegistryStore
    clock: Clock = utc_now
    ids: Callable[[], str] = field(default=new_id)

    def entry(
        self,
        model: str,
        actor: str,
        action: HistoryAction,
        target: str,
        *,
        before: dict[str, JsonValue] | None = None,
        after: dict[str, JsonValue] | None = None,
        reason: str = "",
        figures: dict[str, Figure] | None = None,
    ) -> HistoryEntry:
        return HistoryEntry(
            model=model,
            id=self.ids(),
            at=self.clock(),
            actor=actor,
            action=action,
            target=target,
            before=before,
            after=after,
            reason=reason,
            figures=figures,
        )
