"""Replaying the event chain and naming the first entry that was tampered with.

Two sources of evidence. The chain itself: each entry's hash must be the link of its content
with the previous hash, positions must be contiguous, and the head row must agree with the last
entry. That catches edits, deletions, insertions and moves made with plain SQL. An intruder
who also recomputes every hash after his change makes the chain consistent again; the signed
checkpoints in the stores then disagree, and since they list each entry's content digest the
disagreement is classified: an entry whose content is elsewhere in the checkpoint was moved, a
checkpointed entry that is gone was deleted, an entry the checkpoint does not know was inserted,
anything else was edited.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from preserve.catalog.chain import GENESIS, content_digest, link
from preserve.catalog.models import Event, LogHead
from preserve.errors import IntegrityError
from preserve.storage.base import StorageError, Store
from preserve.trust import repository as queries
from preserve.trust.checkpoints import Checkpoint, read_from


class Kind(enum.StrEnum):
    EDITED = "edited"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    CHECKPOINT_REJECTED = "checkpoint-rejected"
    CHECKPOINT_MISSING = "checkpoint-missing"
    STORE_UNREADABLE = "store-unreadable"


WARNINGS = {Kind.CHECKPOINT_MISSING, Kind.STORE_UNREADABLE}


@dataclass(frozen=True)
class Finding:
    kind: Kind
    seq: int | None
    event_id: str | None
    detail: str
    source: str = "catalogue"

    @property
    def is_warning(self) -> bool:
        return self.kind in WARNINGS

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "seq": self.seq,
            "event_id": self.event_id,
            "detail": self.detail,
            "source": self.source,
            "severity": "warning" if self.is_warning else "error",
        }


@dataclass
class LogReport:
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    checkpoints_verified: int = 0
    checkpointed_to: int = 0
    stores: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        order = sorted(self.findings, key=lambda f: (f.seq is None, f.seq or 0))
        return [f for f in order if not f.is_warning]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def first(self) -> Finding | None:
        return self.errors[0] if self.errors else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "checkpoints_verified": self.checkpoints_verified,
            "checkpointed_to": self.checkpointed_to,
            "stores": self.stores,
            "first_bad_entry": self.first.to_dict() if self.first else None,
            "findings": [f.to_dict() for f in self.findings],
        }


def verify_log(session: Session, stores: list[Store], trusted: Any) -> LogReport:
    report = LogReport(stores=[s.name for s in stores])
    return replay(session, CheckpointFeed(stores, trusted, report))


def replay(session: Session, checkpoints: CheckpointFeed) -> LogReport:
    """Replay the catalogue's chain against checkpoints already read from the stores."""
    report = checkpoints.report
    last = _replay(session, report, checkpoints)
    _check_head(session, report, last)
    _check_unchained(session, report)
    checkpoints.finish(last.seq if last is not None else 0)
    return report


def _replay(session: Session, report: LogReport, checkpoints: CheckpointFeed) -> Event | None:
    expected_prev, expected_seq, previous = GENESIS, 1, None
    for row in queries.chained_events(session):
        report.entries += 1
        digest = content_digest(row)
        if link(row.prev_hash or "", digest) != row.entry_hash:
            report.findings.append(
                Finding(Kind.EDITED, row.seq, row.uuid, "its content no longer matches its hash")
            )
        elif row.prev_hash != expected_prev or row.seq != expected_seq:
            report.findings.append(_classify_break(session, previous, row, expected_seq))
        checkpoints.compare(session, row.seq, digest, row.uuid)
        expected_prev, expected_seq, previous = row.entry_hash, row.seq + 1, row
        session.expunge(row)
    return previous


def _classify_break(
    session: Session, previous: Event | None, row: Event, expected_seq: int
) -> Finding:
    if row.seq > expected_seq:
        span = f"#{expected_seq}" + (f"..#{row.seq - 1}" if row.seq - 1 > expected_seq else "")
        return Finding(Kind.DELETED, expected_seq, None, f"entries {span} are missing")
    before = queries.event_with_hash(session, row.prev_hash)
    if before is not None and before.seq is not None and before.seq > row.seq:
        return Finding(
            Kind.REORDERED, row.seq, row.uuid, f"it was recorded after entry #{before.seq}"
        )
    if before is not None and before.seq is not None and previous is not None:
        inserted = queries.event_at(session, before.seq + 1)
        return Finding(
            Kind.INSERTED,
            before.seq + 1,
            inserted.uuid if inserted else None,
            f"entry #{row.seq} was recorded right after #{before.seq}",
        )
    name = previous.seq if previous is not None else row.seq
    uuid = previous.uuid if previous is not None else row.uuid
    return Finding(
        Kind.EDITED,
        name,
        uuid,
        f"entry #{row.seq} does not follow it: it was rewritten with a new hash, or an entry "
        "after it was deleted and the rest renumbered",
    )


def _check_head(session: Session, report: LogReport, last: Event | None) -> None:
    head = session.get(LogHead, 1)
    report.head_seq = head.seq if head else 0
    report.head_hash = head.entry_hash if head else GENESIS
    last_seq = last.seq if last is not None else 0
    last_hash = last.entry_hash if last is not None else GENESIS
    if last_seq > report.head_seq:
        after = queries.event_at(session, report.head_seq + 1)
        uuid = after.uuid if after is not None else None
        report.findings.append(
            Finding(
                Kind.INSERTED,
                report.head_seq + 1,
                uuid,
                f"the chain's head is #{report.head_seq} but entries go on to #{last_seq}",
            )
        )
    elif last_seq < report.head_seq:
        report.findings.append(
            Finding(
                Kind.DELETED,
                last_seq + 1,
                None,
                f"the chain's head is #{report.head_seq}; entries after #{last_seq} are gone",
            )
        )
    elif last_hash != report.head_hash:
        report.findings.append(
            Finding(Kind.EDITED, last_seq, last.uuid if last else None, "differs from the head")
        )


def _check_unchained(session: Session, report: LogReport) -> None:
    count, first = queries.unchained_events(session, 20)
    for row_id, uuid in first:
        report.findings.append(
            Finding(
                Kind.INSERTED, None, uuid, f"row id {row_id} is not in the chain ({count} such)"
            )
        )


class CheckpointFeed:
    """The checkpoints in every store, loaded one range at a time as the replay reaches it."""

    def __init__(self, stores: list[Store], trusted: Any, report: LogReport) -> None:
        self.trusted = trusted
        self.report = report
        self.copies: dict[int, dict[str, bytes]] = {}
        for store in stores:
            try:
                for seq_to, data in read_from(store).items():
                    self.copies.setdefault(seq_to, {})[store.name] = data
            except StorageError as exc:
                report.findings.append(
                    Finding(Kind.STORE_UNREADABLE, None, None, str(exc), store.name)
                )
        self.names = [s.name for s in stores if not self._unreadable(s.name)]
        self.pending = sorted(self.copies)
        self.current: Checkpoint | None = None
        self.prev_head: str | None = GENESIS
        self.mismatch_in_current = False

    def _unreadable(self, name: str) -> bool:
        return any(
            f.kind == Kind.STORE_UNREADABLE and f.source == name for f in self.report.findings
        )

    def compare(self, session: Session, seq: int, digest: str, uuid: str) -> None:
        checkpoint = self._covering(seq)
        if checkpoint is None or self.mismatch_in_current:
            return
        want = checkpoint.digests[seq - checkpoint.seq_from]
        if want != digest:
            self.mismatch_in_current = True
            self.report.findings.append(_classify_against(session, checkpoint, seq, digest, uuid))

    def _covering(self, seq: int) -> Checkpoint | None:
        while self.current is None or seq > self.current.seq_to:
            if not self.pending:
                self.current = None
                return None
            self.current = self._load(self.pending.pop(0))
            self.mismatch_in_current = False
        return self.current if seq >= self.current.seq_from else None

    def _load(self, seq_to: int) -> Checkpoint | None:
        good: Checkpoint | None = None
        for name, data in sorted(self.copies[seq_to].items()):
            try:
                checkpoint = Checkpoint.from_bytes(data)
                checkpoint.check(self.trusted)
                if checkpoint.seq_to != seq_to:
                    raise IntegrityError(f"it claims to end at #{checkpoint.seq_to}")
                if good is not None and good.head != checkpoint.head:
                    raise IntegrityError("it differs from the copy in another store")
            except IntegrityError as exc:
                self.report.findings.append(
                    Finding(
                        Kind.CHECKPOINT_REJECTED, seq_to, None, f"checkpoint #{seq_to}: {exc}", name
                    )
                )
                continue
            good = good or checkpoint
        for name in self.names:
            if name not in self.copies[seq_to]:
                self.report.findings.append(
                    Finding(
                        Kind.CHECKPOINT_MISSING,
                        seq_to,
                        None,
                        f"checkpoint #{seq_to} is missing",
                        name,
                    )
                )
        if good is None:
            self.prev_head = None
            return _Skip(seq_to)
        self._accept(good)
        return good

    def _accept(self, checkpoint: Checkpoint) -> None:
        if self.prev_head is not None and str(checkpoint.body["prev_head"]) != self.prev_head:
            self.report.findings.append(
                Finding(
                    Kind.CHECKPOINT_REJECTED,
                    checkpoint.seq_to,
                    None,
                    f"checkpoint #{checkpoint.seq_to} does not continue the one before it",
                )
            )
        self.prev_head = checkpoint.head
        self.report.checkpoints_verified += 1
        self.report.checkpointed_to = checkpoint.seq_to

    def finish(self, last_seq: int) -> None:
        """Verified checkpoints beyond the end of the catalogue's chain: its tail was deleted."""
        beyond = []
        current = self.current
        if current is not None and not isinstance(current, _Skip) and current.seq_to > last_seq:
            beyond.append(current.seq_to)
        while self.pending:
            loaded = self._load(self.pending.pop(0))
            if not isinstance(loaded, _Skip):
                beyond.append(loaded.seq_to)
        if beyond:
            self.report.findings.append(
                Finding(
                    Kind.DELETED,
                    last_seq + 1,
                    None,
                    f"the stores hold a signed checkpoint up to #{max(beyond)}; the catalogue's "
                    f"chain ends at #{last_seq}",
                    "checkpoints",
                )
            )


class _Skip(Checkpoint):
    """A range whose every copy was rejected: nothing to compare against."""

    def __init__(self, seq_to: int) -> None:
        super().__init__({"seq_from": seq_to + 1, "seq_to": seq_to, "digests": []}, None)  # type: ignore[arg-type]


def _classify_against(
    session: Session, checkpoint: Checkpoint, seq: int, digest: str, uuid: str
) -> Finding:
    digests = checkpoint.digests
    index = seq - checkpoint.seq_from
    nxt = queries.event_at(session, seq + 1)
    next_digest = content_digest(nxt) if nxt is not None else None
    source = "checkpoints"
    if next_digest == digests[index]:
        if digest in digests:
            moved = checkpoint.seq_from + digests.index(digest)
            return Finding(Kind.REORDERED, seq, uuid, f"it was entry #{moved} when signed", source)
        return Finding(Kind.INSERTED, seq, uuid, "the signed checkpoint has no such entry", source)
    if index + 1 < len(digests) and digest == digests[index + 1]:
        return Finding(
            Kind.DELETED, seq, None, f"signed entry #{seq} is gone; later ones moved up", source
        )
    if digest in digests:
        moved = checkpoint.seq_from + digests.index(digest)
        return Finding(Kind.REORDERED, seq, uuid, f"it was entry #{moved} when signed", source)
    return Finding(Kind.EDITED, seq, uuid, "differs from the signed checkpoint", source)
