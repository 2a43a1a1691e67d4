"""The event log is a hash chain: tampering with it in the database is caught and named.

Every case runs on SQLite and PostgreSQL. Tampering is done the way an intruder with database
access would do it: plain SQL on the events table, with and without recomputing the hashes.
"""

from __future__ import annotations

import itertools
import json
import threading

import pytest
from sqlalchemy import select, text, update

from preserve.catalog.chain import GENESIS, content_digest, link
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Event, LogCheckpoint, LogHead
from preserve.jobs.tasks.trust import run_checkpoint
from preserve.trust.log import log_stores, read_checkpoints
from preserve.trust.logverify import Kind, LogReport, replay


def verify(rt) -> LogReport:
    """The log verified as ``preserve verify log`` does it, without logging the verification."""
    with rt.sessions.begin() as session:
        stores = log_stores(session, rt.stores)
    feed = read_checkpoints(stores, rt.trusted_keys())
    with rt.sessions.begin() as session:
        return replay(session, feed)


def record(rt, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        with rt.sessions.begin() as session:
            record_event(
                session,
                EventType.FIXITY_CHECK,
                Outcome.SUCCESS,
                object_type="aip",
                object_id=f"aip-{i}",
                detail=f"check {i}: 档案 ok",
            )


def rows(rt) -> list[Event]:
    with rt.sessions() as session:
        return list(session.scalars(select(Event).order_by(Event.seq)))


def sql(rt, statement: str, **params) -> None:
    with rt.engine.begin() as conn:
        conn.execute(text(statement), params)


def rehash_from(rt, seq: int) -> None:
    """What a careful intruder does after his change: recompute every hash from ``seq`` on."""
    with rt.sessions.begin() as session:
        entries = list(session.scalars(select(Event).order_by(Event.seq)))
        prev = GENESIS
        for position, entry in enumerate(entries, 1):
            entry.seq = -position  # renumber through negatives: seq is unique
        session.flush()
        for position, entry in enumerate(entries, 1):
            entry.seq = position
            if position >= seq:
                entry.prev_hash = prev
                entry.entry_hash = link(prev, content_digest(entry))
            prev = entry.entry_hash
        head = session.get(LogHead, 1)
        head.seq, head.entry_hash = len(entries), prev


def test_every_event_links_to_the_one_before(rt):
    record(rt, 5)
    entries = rows(rt)

    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.entry_hash
        assert after.entry_hash == link(before.entry_hash, content_digest(after))
    report = verify(rt)
    assert report.ok, report.findings
    assert (report.entries, report.head_seq) == (5, 5)
    assert report.head_hash == entries[-1].entry_hash


def test_events_of_a_rolled_back_transaction_leave_no_trace(rt):
    record(rt, 2)
    with pytest.raises(RuntimeError), rt.sessions.begin() as session:
        record_event(session, EventType.ACCESS, Outcome.SUCCESS, object_type="aip", object_id="x")
        session.flush()
        raise RuntimeError("abort")
    record(rt, 1, start=2)

    assert [e.seq for e in rows(rt)] == [1, 2, 3]
    assert verify(rt).ok


def test_concurrent_writers_never_fork_the_chain(rt):
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                with rt.sessions.begin() as session:
                    for j in range(2):
                        record_event(
                            session,
                            EventType.REPLICATION,
                            Outcome.SUCCESS,
                            object_type="aip",
                            object_id=f"w{n}-{i}-{j}",
                        )
                    session.flush()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    entries = rows(rt)
    assert [e.seq for e in entries] == list(range(1, 121))
    assert len({e.prev_hash for e in entries}) == 120, "two entries share a predecessor: a fork"
    assert verify(rt).ok


def tamper_edit(rt) -> tuple[Kind, int]:
    sql(rt, "UPDATE events SET detail = 'nothing to see' WHERE seq = 4")
    return Kind.EDITED, 4


def tamper_delete(rt) -> tuple[Kind, int]:
    sql(rt, "DELETE FROM events WHERE seq = 3")
    return Kind.DELETED, 3


def tamper_delete_tail(rt) -> tuple[Kind, int]:
    sql(rt, "DELETE FROM events WHERE seq >= 7")
    return Kind.DELETED, 7


def tamper_insert_unchained(rt) -> tuple[Kind, None]:
    sql(
        rt,
        "INSERT INTO events (uuid, type, outcome, detail, agent, object_type, object_id, "
        "created_at) VALUES ('00000000-0000-4000-8000-000000000001', 'deletion', 'success', "
        "'', 'intruder', 'aip', 'x', :t)",
        t=rows(rt)[0].created_at,
    )
    return Kind.INSERTED, None


def tamper_insert_in_place(rt) -> tuple[Kind, int]:
    """Make room at #5 and put a forged entry there that links correctly to #4."""
    entries = rows(rt)
    for e in reversed(entries[4:]):
        sql(rt, "UPDATE events SET seq = :new WHERE seq = :old", new=e.seq + 1, old=e.seq)
    forged = Event(
        uuid="00000000-0000-4000-8000-000000000002",
        type="deletion",
        outcome="success",
        detail="",
        agent="intruder",
        object_type="aip",
        object_id="x",
        created_at=entries[3].created_at,
    )
    with rt.sessions.begin() as session:
        forged.seq, forged.prev_hash = 5, entries[3].entry_hash
        forged.entry_hash = link(forged.prev_hash, content_digest(forged))
        session.add(forged)
    return Kind.INSERTED, 5


def tamper_reorder(rt) -> tuple[Kind, int]:
    sql(rt, "UPDATE events SET seq = -1 WHERE seq = 3")
    sql(rt, "UPDATE events SET seq = 3 WHERE seq = 4")
    sql(rt, "UPDATE events SET seq = 4 WHERE seq = -1")
    return Kind.REORDERED, 3


TAMPERINGS = [
    tamper_edit,
    tamper_delete,
    tamper_delete_tail,
    tamper_insert_unchained,
    tamper_insert_in_place,
    tamper_reorder,
]


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=lambda f: f.__name__.removeprefix("tamper_"))
def test_sql_tampering_is_caught_and_the_entry_named(rt, tamper):
    record(rt, 8)
    assert verify(rt).ok

    kind, seq = tamper(rt)
    report = verify(rt)

    assert not report.ok
    assert (report.first.kind, report.first.seq) == (kind, seq), report.findings
    if kind == Kind.INSERTED and seq is None:
        assert report.first.event_id == "00000000-0000-4000-8000-000000000001"


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=lambda f: f.__name__.removeprefix("tamper_"))
def test_a_rehashed_chain_is_caught_by_the_signed_checkpoints(rt, tamper):
    record(rt, 8)
    run_checkpoint(rt)
    record(rt, 2, start=8)

    kind, seq = tamper(rt)
    if seq is not None:
        rehash_from(rt, 1)
    report = verify(rt)

    assert not report.ok
    assert report.checkpoints_verified == 1
    if seq is not None:
        catalogue_only = [f for f in report.errors if f.source == "catalogue"]
        assert catalogue_only == [], "the re-hash made the chain itself consistent"
        want = 7 if tamper is tamper_delete_tail else seq
        assert (report.first.kind, report.first.seq) == (kind, want), report.findings


def test_checkpoints_are_written_to_every_store_and_verified(rt, tmp_path):
    record(rt, 3)
    first = run_checkpoint(rt)
    record(rt, 2, start=3)
    second = run_checkpoint(rt)
    again = run_checkpoint(rt)

    assert (first.made, second.made, again.made) == ([3], [5], [])
    for target in ("site-a-disk", "site-b-nas"):
        names = sorted(p.name for p in (tmp_path / "stores" / target / "log/checkpoints").iterdir())
        assert names == ["000000000003.json", "000000000005.json"]
    with rt.sessions() as session:
        stored = session.scalars(select(LogCheckpoint.stored_on)).all()
    assert stored == [["local/site-a-disk", "local/site-b-nas"]] * 2
    report = verify(rt)
    assert report.ok and report.checkpoints_verified == 2 and report.checkpointed_to == 5


def test_a_checkpoint_forged_without_the_key_is_rejected(rt, tmp_path):
    from preserve.trust import keys
    from preserve.trust.checkpoints import Checkpoint
    from preserve.trust.signing import sign

    record(rt, 4)
    run_checkpoint(rt)
    path = tmp_path / "stores/site-a-disk/log/checkpoints/000000000004.json"
    genuine = Checkpoint.from_bytes(path.read_bytes())
    intruder = keys.load_or_create(tmp_path / "intruder-keys")

    # 1. the body changed, the archive's signature kept
    body = {**genuine.body, "head": "f" * 64}
    path.write_bytes(Checkpoint(body, genuine.signature).to_bytes())
    report = verify(rt)
    assert [f.kind for f in report.errors] == [Kind.CHECKPOINT_REJECTED]
    assert report.errors[0].source == "local/site-a-disk"
    assert "does not match" in report.errors[0].detail

    # 2. a whole new checkpoint signed by a key the archive never had
    forged = Checkpoint(body, sign(intruder, json.dumps(body).encode(), path.name))
    path.write_bytes(forged.to_bytes())
    report = verify(rt)
    assert [f.kind for f in report.errors] == [Kind.CHECKPOINT_REJECTED]
    assert f"unknown key {intruder.key_id}" in report.errors[0].detail
    assert report.checkpoints_verified == 1, "the intact copy in the other store still counts"


def test_a_checkpoint_missing_from_one_store_is_a_warning(rt, tmp_path):
    record(rt, 2)
    run_checkpoint(rt)
    (tmp_path / "stores/site-b-nas/log/checkpoints/000000000002.json").unlink()

    report = verify(rt)
    assert report.ok
    assert [(f.kind, f.source) for f in report.findings] == [
        (Kind.CHECKPOINT_MISSING, "local/site-b-nas")
    ]


def test_a_checkpoint_job_is_armed_by_new_events(rt, monkeypatch):
    from preserve.catalog.models import Job, JobState
    from preserve.jobs.worker import drain

    monkeypatch.setenv("PRESERVE_CHECKPOINT_EVERY_EVENTS", "3")
    record(rt, 2)
    with rt.sessions() as session:
        job = session.scalar(select(Job).where(Job.kind == "trust.checkpoint"))
        assert job is not None and job.state == JobState.QUEUED
    assert drain(rt) == 0, "not due yet: 2 events of 3, and minutes to go"

    record(rt, 1, start=2)
    assert drain(rt) == 1
    with rt.sessions() as session:
        assert session.scalars(select(LogCheckpoint.seq_to)).all() == [3]
    with rt.sessions.begin() as session:
        session.execute(update(Job).where(Job.kind == "trust.checkpoint").values(attempts=0))
    assert verify(rt).ok
