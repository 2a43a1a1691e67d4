"""The SQL of holdings statistics: records, files and bytes grouped by one dimension.

Records are AIPs, except ``by=state``, which counts SIPs (a rejected or waiting SIP has no AIP
but an officer still wants to count it). ``by=format`` counts files by PRONOM id (records: the
AIPs holding at least one such file); ``by=target`` counts verified copies per storage target.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, distinct, func, select
from sqlalchemy.orm import Session

from preserve.catalog.models import Agency, Aip, File, Replica, ReplicaState, Sip


class By(enum.StrEnum):
    AGENCY = "agency"
    FONDS = "fonds"
    YEAR = "year"
    RETENTION = "retention"
    FORMAT = "format"
    TARGET = "target"
    STATE = "state"


@dataclass(frozen=True)
class Row:
    key: str | None
    records: int
    files: int
    bytes: int


def statistics(
    session: Session, by: By, *, scope: int | None = None, agency: str | None = None
) -> list[Row]:
    """Rows ordered by key (no key last); ``scope`` confines them to one agency."""
    scoped = scope is not None or agency is not None
    stmt = _grouped(by, scoped)  # each read from a covering index
    model = Sip if by is By.STATE else Aip
    if scope is not None:
        stmt = stmt.where(model.agency_id == scope)
    if agency is not None:
        stmt = stmt.where(
            model.agency_id == select(Agency.id).where(Agency.name == agency).scalar_subquery()
        )
    rows = [
        Row(None if key is None else str(key), int(n), int(files or 0), int(size or 0))
        for key, n, files, size in session.execute(stmt).all()
    ]
    return sorted(rows, key=lambda r: (r.key is None, r.key or ""))


def _grouped(by: By, scoped: bool) -> Select:
    if by is By.STATE:
        return _sum(Sip.state, Sip).group_by(Sip.state)
    if by is By.AGENCY:
        stmt = _sum(Agency.name, Aip).join(Agency, Agency.id == Aip.agency_id)
        return stmt.group_by(Agency.name)
    if by is By.FORMAT:
        # ix_files_puid (puid, aip_id, size) answers this alone; AIPs only to confine an agency
        stmt = select(
            File.puid, func.count(distinct(File.aip_id)), func.count(), func.sum(File.size)
        )
        if scoped:
            stmt = stmt.join(Aip, Aip.id == File.aip_id)
        return stmt.group_by(File.puid)
    if by is By.TARGET:
        # ix_replicas_holdings answers this alone (a copy carries its AIP's sizes)
        stmt = _sum(Replica.target, Replica).where(Replica.state == ReplicaState.VERIFIED)
        if scoped:
            stmt = stmt.join(Aip, Aip.id == Replica.aip_id)
        return stmt.group_by(Replica.target)
    key: ColumnElement = getattr(Aip, by.value)
    return _sum(key, Aip).group_by(key)


def _sum(key: ColumnElement, model: type) -> Select:
    return select(key, func.count(), func.sum(model.file_count), func.sum(model.total_bytes))
