"""Property-based state machine over register / promote / canary / rollback / archive.

Runs the real service and DynamoDB adapter (moto) against a plain-Python model of the
rules; after every step every alias must point at ready versions with weights summing
to 100, version references must match the aliases, and rollback must restore routes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from layerserve.adapters.dynamodb_registry import DynamoDBRegistry, create_registry_table
from layerserve.domain.errors import ConflictError, InvalidInputError, NotFoundError
from layerserve.domain.registry import VersionStatus
from layerserve.services.registry import (
    Archive,
    Canary,
    Promote,
    RegisterVersion,
    RegistryService,
    Rollback,
)
from tests.registry_support import AwsRegistry, make_manifest, moto_registry

VERSIONS = ("1", "2", "3", "4", "5")
ALIASES = ("production", "staging")
Routes = dict[str, int]
_models = itertools.count()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsRegistry]:
    yield from moto_registry(monkeypatch)


def _stable(routes: Routes, canary: str) -> str | None:
    others = {v: w for v, w in routes.items() if v != canary}
    top = max(others.values(), default=0)
    return min((v for v, w in others.items() if w == top), default=None)


class RegistryMachine(RuleBasedStateMachine):
    aws: AwsRegistry

    def __init__(self) -> None:
        super().__init__()
        # A fresh table per example: moto's queries and transactions slow down as it grows.
        number = next(_models)
        table = f"registry-{number}"
        create_registry_table(self.aws.dynamodb, table)
        self.store = DynamoDBRegistry(table, self.aws.dynamodb)
        self.service = RegistryService(self.store)
        self.model = f"model-{number}"
        self.ready: set[str] = set()
        self.archived: set[str] = set()
        self.aliases: dict[str, tuple[Routes, Routes]] = {}  # alias -> (routes, previous)

    def _referenced(self, version: str) -> bool:
        return any(version in r or version in p for r, p in self.aliases.values())

    def _move(self, alias: str, routes: Routes) -> None:
        previous = self.aliases[alias][0] if alias in self.aliases else {}
        self.aliases[alias] = (routes, previous)

    @rule(version=st.sampled_from(VERSIONS))
    def register(self, version: str) -> None:
        manifest = make_manifest(self.model, version)
        command = RegisterVersion(manifest=manifest, location=f"models/{self.model}/{version}")
        got = self.service.versions.register(self.model, command, "tester")
        expected = VersionStatus.ARCHIVED if version in self.archived else VersionStatus.READY
        assert got.status is expected
        if version not in self.archived:
            self.ready.add(version)

    @rule(alias=st.sampled_from(ALIASES), version=st.sampled_from(VERSIONS))
    def promote(self, alias: str, version: str) -> None:
        try:
            moved = self.service.aliases.promote(self.model, alias, Promote(version=version), "t")
        except (ConflictError, NotFoundError):
            assert version not in self.ready
            return
        assert version in self.ready
        self._move(alias, {version: 100})
        assert moved.pairs() == [(version, 100)]

    @rule(
        alias=st.sampled_from(ALIASES),
        version=st.sampled_from(VERSIONS),
        weight=st.integers(min_value=1, max_value=99),
    )
    def canary(self, alias: str, version: str, weight: int) -> None:
        current = self.aliases.get(alias)
        stable = _stable(current[0], version) if current else None
        allowed = stable is not None and version in self.ready
        command = Canary(version=version, weight=weight)
        try:
            moved = self.service.aliases.canary(self.model, alias, command, "t")
        except (ConflictError, NotFoundError, InvalidInputError):
            assert not allowed
            return
        assert allowed and current is not None
        assert stable is not None
        routes = {stable: 100 - weight, version: weight}
        self._move(alias, routes)
        assert dict(moved.pairs()) == routes

    @rule(alias=st.sampled_from(ALIASES))
    def rollback(self, alias: str) -> None:
        current = self.aliases.get(alias)
        try:
            moved = self.service.aliases.rollback(self.model, alias, Rollback(), "t")
        except (ConflictError, NotFoundError):
            assert current is None or not current[1]
            return
        assert current is not None and current[1]
        assert dict(moved.pairs()) == current[1]  # the previous routes, restored
        self.aliases[alias] = (current[1], {})

    @rule(version=st.sampled_from(VERSIONS))
    def archive(self, version: str) -> None:
        known = version in self.ready or version in self.archived
        try:
            got = self.service.versions.archive(self.model, version, Archive(), "t")
        except (ConflictError, NotFoundError):
            assert not known or self._referenced(version)
            return
        assert known and not self._referenced(version)
        assert got.status is VersionStatus.ARCHIVED
        self.ready.discard(version)
        self.archived.add(version)

    @invariant()
    def aliases_point_at_ready_versions(self) -> None:
        store = self.store
        if store.get_model(self.model) is None:
            assert not self.ready and not self.archived
            return
        versions = {v.version: v for v in store.list_versions(self.model)}
        aliases = store.list_aliases(self.model)
        assert {a.name: (dict(a.pairs()), {r.version: r.weight for r in a.previous_routes})
                for a in aliases} == self.aliases  # fmt: skip
        for alias in aliases:
            assert sum(route.weight for route in alias.routes) == 100
            for name in alias.referenced():
                assert versions[name].status is VersionStatus.READY
        for version in versions.values():
            users = {a.name for a in aliases if version.version in a.referenced()}
            assert set(version.aliases) == users


def test_registry_state_machine(aws: AwsRegistry) -> None:
    RegistryMachine.aws = aws
    run_state_machine_as_test(
        RegistryMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
