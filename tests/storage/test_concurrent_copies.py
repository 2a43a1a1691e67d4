"""The first copy of an AIP goes to every target at once: both copies are under way together
(proven by a gate that opens only when each target has started writing), and a target that
fails leaves the other's copy proven and recorded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from sqlalchemy import select

from preserve.catalog.db import upgrade
from preserve.catalog.models import Job, JobState, ReplicaState
from preserve.catalog.repository import get_aip
from preserve.jobs.worker import drain
from preserve.runtime import Runtime
from preserve.settings import Settings
from preserve.storage.base import ObjectInfo, StorageError, Store
from preserve.storage.filesystem import FilesystemStore
from storage.replication_support import Fs, push, sip_state, write_profile

GATE_SECONDS = 60  # only a guard: the gate opens as soon as both copies have started


class Gated:
    """A target whose first write waits until every target's copy has started writing (a
    copy made after another never gets through), then writes, or fails when ``down``."""

    def __init__(self, inner: FilesystemStore, gate: threading.Barrier, down: bool = False):
        self.name = inner.name
        self._inner = inner
        self._gate = gate
        self._down = down
        self._waited = False

    def put(self, key: str, source: BinaryIO, *, overwrite: bool = False) -> ObjectInfo:
        if not self._waited:
            self._waited = True
            self._gate.wait(GATE_SECONDS)
        if self._down:
            raise StorageError(f"{self.name}: cannot write {key}: the line is cut")
        return self._inner.put(key, source, overwrite=overwrite)

    def open(self, key: str) -> BinaryIO:
        return self._inner.open(key)

    def stat(self, key: str) -> ObjectInfo:
        return self._inner.stat(key)

    def list(self, prefix: str = "") -> Iterator[str]:
        return self._inner.list(prefix)

    def delete(self, key: str) -> None:
        self._inner.delete(key)


@pytest.fixture
def down() -> set[str]:
    """The targets whose writes fail (tests parametrize it)."""
    return set()


@pytest.fixture
def rt(settings: Settings, tmp_path: Path, down: set[str]) -> Iterator[Runtime]:
    """The runtime of ``client`` and ``make_token``, its two filesystem targets gated."""
    targets = [
        Fs("disk-a", "site-a", "disk", tmp_path / "a"),
        Fs("disk-b", "site-b", "nas", tmp_path / "b"),
    ]
    write_profile(settings.profiles_dir, "local", targets, copies=1)
    gate = threading.Barrier(len(targets))
    stores: dict[str, Store] = {
        t.name: Gated(FilesystemStore(t.name, t.root), gate, t.name in down) for t in targets
    }
    settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sqlalchemy_url)
    runtime = Runtime(settings, stores=stores)
    yield runtime
    runtime.close()


def replicas(rt: Runtime, aip_id: str) -> dict[str, str]:
    with rt.sessions() as session:
        return {r.target: r.state.value for r in get_aip(session, aip_id).replicas}


def copy_jobs(rt: Runtime) -> list[tuple[str | None, JobState, int]]:
    with rt.sessions() as session:
        rows = session.scalars(select(Job).where(Job.kind == "storage.replicate")).all()
        return [(j.resource, j.state, j.attempts) for j in rows]


def test_both_targets_are_written_at_once(rt, client, make_token, tmp_path):
    files = {"a.txt": b"first record\n", "folder/b.bin": bytes(range(256)) * 64}
    sip = push(client, make_token(), files)

    drain(rt)

    state, aip_id = sip_state(rt, sip)
    assert state == "PRESERVED"
    assert replicas(rt, aip_id) == {"disk-a": "verified", "disk-b": "verified"}
    assert copy_jobs(rt) == [], "both copies made by the first job: nothing left to replicate"
    for root in ("a", "b"):
        (found,) = (tmp_path / root).rglob("folder/b.bin")
        assert found.read_bytes() == files["folder/b.bin"]


@pytest.mark.parametrize("down", [{"disk-a"}])
def test_a_failing_target_leaves_the_others_copy_recorded(rt, client, make_token, tmp_path):
    sip = push(client, make_token(), {"a.txt": b"record\n"})

    drain(rt)

    state, aip_id = sip_state(rt, sip)
    assert state == "PRESERVED", "one proven copy holds a policy of one copy"
    assert replicas(rt, aip_id) == {
        "disk-a": ReplicaState.PENDING.value,
        "disk-b": ReplicaState.VERIFIED.value,
    }
    assert copy_jobs(rt) == [("target:disk-a", JobState.QUEUED, 0)], "held by the outage"
    assert list((tmp_path / "b").rglob("a.txt")), "the other copy was written whole"
    assert not list((tmp_path / "a").rglob("*.txt"))
