"""Deploy answers: register what the model layer holds and give new models a default alias.

Runs on every stack create and update (a CloudFormation custom resource). A version the
registry already has is left as it is when it is the same artifact at the same place and
refused otherwise (versions are immutable); an existing alias is never moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from layerserve.domain.errors import ConflictError, InvalidInputError
from layerserve.domain.registry import VersionStatus
from layerserve.domain.versions import latest
from layerserve.services.catalog import VersionRecord
from layerserve.services.registry.commands import Promote, RegisterVersion
from layerserve.services.registry.service import RegistryService

REASON = "shipped in the model layer"


@dataclass(slots=True)
class LayerSync:
    """What one deploy changed: ``model/version`` names and ``model -> alias=version``."""

    registered: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def sync_layer_versions(
    service: RegistryService, records: Iterable[VersionRecord], actor: str
) -> LayerSync:
    """Register each layer version not registered yet, then default aliases where missing.

    Problems (a version registered with another artifact, an alias name that clashes)
    are collected, not raised, so every other model is still synced; the caller decides
    whether they fail the deploy. Storage outages raise.
    """
    outcome = LayerSync()
    models: set[str] = set()
    for record in sorted(records, key=lambda r: (r.model, r.version)):
        models.add(record.model)
        _register(service, record, actor, outcome)
    for model in sorted(models):
        _default_alias(service, model, actor, outcome)
    return outcome


def _register(
    service: RegistryService, record: VersionRecord, actor: str, outcome: LayerSync
) -> None:
    name = f"{record.model}/{record.version}"
    existing = service.store.get_version(record.model, record.version)
    if existing is not None and not existing.status.replaceable:
        if existing.same_artifact(record.manifest, record.location):
            outcome.unchanged.append(name)
        else:
            outcome.problems.append(
                f"{name} in the model layer differs from the registered version "
                f"({existing.status.value}, {existing.location}): versions are immutable, "
                "ship it under a new version"
            )
        return
    command = RegisterVersion(manifest=record.manifest, location=record.location, reason=REASON)
    try:
        service.versions.register(record.model, command, actor)
    except (ConflictError, InvalidInputError) as exc:
        outcome.problems.append(f"{name}: {exc.message}")
        return
    outcome.registered.append(name)


def _default_alias(service: RegistryService, model: str, actor: str, outcome: LayerSync) -> None:
    found = service.store.get_model(model)
    if found is None:  # none of its versions could be registered
        return
    alias = found.default_alias
    if service.store.get_alias(model, alias) is not None:
        return
    versions = service.store.list_versions(model)
    highest = latest(v.version for v in versions if v.status is VersionStatus.READY)
    if highest is None:
        return
    command = Promote(version=highest, expected_revision=0, reason=REASON)
    try:
        service.aliases.promote(model, alias, command, actor)
    except ConflictError:  # created meanwhile by someone else: theirs stands
        return
    except InvalidInputError as exc:
        outcome.problems.append(f"{model}: {exc.message}")
        return
    outcome.aliases[model] = f"{alias}={highest}"
