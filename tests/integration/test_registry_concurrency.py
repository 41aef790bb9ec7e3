"""Many threads promote and roll back one alias: no lost update, conflicts are 409s.

moto's in-process backend is not atomic under threads, so each AWS call is made atomic
with a lock around the client; the read-modify-write sequences of the service still
interleave freely, which is the race under test.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from layerserve.domain.errors import ConflictError, RevisionConflictError
from layerserve.domain.registry import HistoryEntry
from layerserve.protocol.status import status_for
from layerserve.services.registry import Promote, RegisterVersion, Rollback
from tests.registry_support import AwsRegistry, make_manifest, moto_registry, serialise_calls

THREADS = 6
OPS = 6
ALIAS = "production"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsRegistry]:
    yield from moto_registry(monkeypatch)


def _alias_history(aws: AwsRegistry) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = []
    cursor = None
    while True:
        page = aws.service.history("m", limit=100, cursor=cursor)
        entries += page.entries
        if page.cursor is None:
            break
        cursor = page.cursor
    return [e for e in entries if e.target == f"alias {ALIAS}"]


def _revision(entry: HistoryEntry) -> int:
    assert entry.after is not None and isinstance(entry.after["revision"], int)
    return entry.after["revision"]


def test_concurrent_promotes_and_rollbacks_lose_no_update(aws: AwsRegistry) -> None:
    serialise_calls(aws.dynamodb)
    for version in ("1", "2", "3", "4"):
        manifest = make_manifest("m", version)
        command = RegisterVersion(manifest=manifest, location=f"models/m/{version}")
        aws.service.versions.register("m", command, "setup")
    aws.service.aliases.promote("m", ALIAS, Promote(version="1"), "setup")
    start = threading.Barrier(THREADS)

    def worker(thread: int) -> tuple[int, list[ConflictError]]:
        start.wait()
        done, conflicts = 0, []
        for op in range(OPS):
            who = f"thread-{thread}"
            try:
                if (thread + op) % 3 == 2:
                    aws.service.aliases.rollback("m", ALIAS, Rollback(reason=f"{op}"), who)
                else:
                    target = Promote(version=str(1 + (thread + op) % 4), reason=f"{op}")
                    aws.service.aliases.promote("m", ALIAS, target, who)
                done += 1
            except ConflictError as exc:  # anything else fails the test
                conflicts.append(exc)
        return done, conflicts

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(worker, range(THREADS)))
    succeeded = sum(done for done, _ in results)
    conflicts = [exc for _, found in results for exc in found]
    assert succeeded + len(conflicts) == THREADS * OPS
    assert any(isinstance(exc, RevisionConflictError) for exc in conflicts)  # real contention
    assert all(status_for(exc) == 409 for exc in conflicts)

    final = aws.service.aliases.get("m", ALIAS)
    assert final.revision == 1 + succeeded  # every success is exactly one revision
    history = sorted(_alias_history(aws), key=_revision)
    assert [_revision(e) for e in history] == list(range(1, final.revision + 1))
    for older, newer in itertools.pairwise(history):
        assert newer.before == older.after  # each write saw the state the previous one left
    last = history[-1].after
    assert last is not None and last["routes"] == [[r.version, r.weight] for r in final.routes]
    for stored in aws.service.versions.all("m"):
        assert (ALIAS in stored.aliases) == (stored.version in final.referenced())
