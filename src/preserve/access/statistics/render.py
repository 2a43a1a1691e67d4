"""Statistics as JSON, CSV and an HTML page: the same rows, three shapes."""

from __future__ import annotations

import csv
import io
from typing import Any

from preserve import printable
from preserve.access.statistics.queries import By, Row
from preserve.catalog.types import utcnow

FIELDS = ("key", "records", "files", "bytes")


def as_json(by: By, rows: list[Row]) -> dict[str, Any]:
    return {"by": by.value, "rows": [{f: getattr(r, f) for f in FIELDS} for r in rows]}


def as_csv(rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for r in rows:
        writer.writerow(["" if r.key is None else r.key, r.records, r.files, r.bytes])
    return out.getvalue()


def as_html(by: By, rows: list[Row], *, archive_name: str = "", zone_name: str = "UTC") -> str:
    """The printable page (A4, the archive's name and page numbers, human units)."""
    return printable.render(
        "preserve.access",
        "statistics.html",
        archive_name,
        zone_name,
        by_label=f"{_LABELS[by]} {by.value}",
        rows=rows,
        generated_at=utcnow(),
    )


_LABELS = {
    By.AGENCY: "机构",
    By.FONDS: "全宗",
    By.YEAR: "年度",
    By.RETENTION: "保管期限",
    By.FORMAT: "格式",
    By.TARGET: "存储目标",
    By.STATE: "状态",
}
