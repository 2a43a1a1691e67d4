"""The recovery-drill report as CSV (one row per restored sample) and as a page to file, and the
drill reports kept for the console."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from preserve import printable
from preserve.access.drill import DrillReport
from preserve.storage import kept_reports

CSV_FIELDS = ("target", "site", "media", "aip_id", "ok", "files", "bytes", "seconds", "detail")


def to_csv(report: DrillReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for t in report.targets:
        for s in t.samples:
            writer.writerow(
                [t.target, t.site, t.media, s.aip_id, s.ok, s.files, s.bytes, s.seconds, s.detail]
            )
    return out.getvalue()


KIND = "drill"


def to_html(report: DrillReport | dict, *, archive_name: str = "", zone_name: str = "UTC") -> str:
    """The printable page (A4, the archive's name and page numbers, human units, local times);
    the console's drill page includes the same body (``drill_report_body.html``)."""
    doc = report.to_dict() if isinstance(report, DrillReport) else report
    return printable.render(
        "preserve.access", "drill_report.html", archive_name, zone_name, report=doc
    )


def report_name(report: DrillReport) -> str:
    """Its file name: the start time (sortable), the profile's and the seed."""
    started = report.started_at.replace("-", "").replace(":", "").split(".")[0].split("+")[0]
    profile = re.sub(r"[^A-Za-z0-9_-]", "_", report.profile)[:60]
    return f"{started}Z-{profile}-{report.seed}"


def keep_report(data_dir: Path, report: DrillReport) -> str:
    """Kept for the officer's console (``<data dir>/reports/drill``); its name is answered."""
    name = report_name(report)
    kept_reports.keep(data_dir, KIND, name, report.to_dict())
    return name


def kept_drills(data_dir: Path) -> list[tuple[str, dict]]:
    """Every kept drill report, newest first, with its name."""
    return kept_reports.read_all(data_dir, KIND)


def kept_drill(data_dir: Path, name: str) -> dict:
    return kept_reports.read(data_dir, KIND, name)
