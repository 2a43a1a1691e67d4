"""The due list: records whose retention has ended (到期鉴定), by agency, fonds and year."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy.orm import Session

from preserve.disposal import repository as repo
from preserve.disposal.clock import due_on
from preserve.disposal.render import csv_text, html_page


@dataclass(frozen=True)
class DueRecord:
    aip_id: str
    agency: str
    archival_code: str
    title: str
    fonds: str | None
    year: str | None
    record_date: str | None
    retention: str
    due_on: str
    held: bool
    in_batch: str | None

    def to_dict(self) -> dict:
        return asdict(self)


def due_records(
    session: Session,
    today: date,
    *,
    start: str = "next-year",
    agency: str | None = None,
    fonds: str | None = None,
    year: str | None = None,
) -> list[DueRecord]:
    found = []
    for aip in repo.retention_candidates(session, agency=agency, fonds=fonds, year=year):
        ends = due_on(aip.retention, aip.record_date, aip.year, start)
        if ends is None or ends > today:
            continue
        found.append((aip, ends))
    batches = repo.open_decisions_for(session, [aip.id for aip, _ in found])
    return [
        DueRecord(
            aip.id,
            aip.agency.name,
            aip.archival_code,
            aip.title,
            aip.fonds,
            aip.year,
            aip.record_date,
            aip.retention or "",
            ends.isoformat(),
            bool(repo.holds_on(session, aip)),
            batches.get(aip.id),
        )
        for aip, ends in found
    ]


COLUMNS = [
    ("archival_code", "档号", "Archival code"),
    ("title", "题名", "Title"),
    ("agency", "单位", "Agency"),
    ("fonds", "全宗", "Fonds"),
    ("year", "年度", "Year"),
    ("retention", "保管期限", "Retention"),
    ("due_on", "到期日", "Due on"),
    ("held", "冻结", "Held"),
    ("in_batch", "鉴定批次", "Batch"),
    ("aip_id", "AIP", "AIP"),
]


def due_csv(rows: list[DueRecord]) -> str:
    return csv_text(COLUMNS, [r.to_dict() for r in rows])


def due_html(rows: list[DueRecord], today: date) -> str:
    return html_page(
        "到期档案 · Records due for appraisal",
        [f"截止 As of: {today.isoformat()}", f"件数 Records: {len(rows)}"],
        COLUMNS,
        [r.to_dict() for r in rows],
    )
