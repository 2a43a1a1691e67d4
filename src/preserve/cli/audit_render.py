"""What ``audit run``, ``audit status`` and ``report fixity`` print, as :class:`Result`s for
:func:`preserve.cli.output.emit` (table, JSON, CSV or HTML)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from preserve.audit.auditor import AuditOutcome
from preserve.audit.report import FixityReport, to_csv
from preserve.audit.status import AuditStatus
from preserve.cli.output import Result

_RED = "bold red"


def run_result(run: Any) -> Result:
    """An :class:`~preserve.audit.service.AuditRun`: one row per replica audited."""
    rows = []
    for r in run.audits:
        repair = run.repairs.get((r.aip_id, r.target))
        note = "" if repair is None else ("repaired" if repair.repaired else "NOT repaired")
        rows.append(
            {
                "aip": r.aip_id,
                "target": r.target,
                "files": r.files_checked,
                "bytes": r.bytes_read,
                "outcome": r.outcome.value,
                "repair": note,
            }
        )
    lines = []
    for r in run.failed:
        lines += [
            f"FAIL {r.target} {r.aip_id} {p.path}: {p.outcome} ({p.detail})" for p in r.problems
        ]
        repair = run.repairs.get((r.aip_id, r.target))
        if repair is not None:
            lines.append(f"  repair: {repair.detail}")
    lines += [
        f"restore requested: {target} {aip_id} (cold; audit once readable)"
        for aip_id, target in run.restores_requested
    ]
    ok = sum(r.outcome == AuditOutcome.OK for r in run.audits)
    repaired = sum(1 for r in run.repairs.values() if r.repaired)
    lines.append(
        f"{len(run.audits)} replicas audited, {ok} ok, {len(run.audits) - ok} failed"
        + (f", {repaired} repaired" if run.repairs else "")
    )
    data = {
        "audits": [
            {**row, "problems": [asdict(p) for p in r.problems]}
            for row, r in zip(rows, run.audits, strict=True)
        ],
        "restores_requested": [{"aip": a, "target": t} for a, t in run.restores_requested],
        "audited": len(run.audits),
        "ok": ok,
        "failed": len(run.audits) - ok,
        "repaired": repaired,
        "unrepaired": len(run.unrepaired),
    }
    styles = {"outcome": lambda row: "green" if row["outcome"] == "ok" else _RED}
    columns = ["aip", "target", "files", "bytes", "outcome", "repair"]
    return Result("fixity audit", columns, rows, data=data, lines=lines, styles=styles)


def status_result(status: AuditStatus) -> Result:
    columns = ["target", "mode", "interval_days", "replicas", "coverage", "due_now", "overdue"]
    columns += ["never_audited", "open_failures"]
    rows = [{c: getattr(t, c) for c in columns} for t in status.targets]
    for row in rows:
        row["coverage"] = f"{row['coverage']:.1%}"
    lines = [
        f"{f.resolution} {f.time} {f.target} {f.aip_id}: {f.outcome} ({f.detail})"
        for f in status.open_failures
    ]
    styles = {c: (lambda row, c=c: _RED if row[c] else "") for c in ("overdue", "open_failures")}
    title = f"fixity audit status at {status.time}"
    return Result(title, columns, rows, data=status.to_dict(), lines=lines, styles=styles)


def report_result(report: FixityReport, signed: dict, html: str) -> Result:
    """The JSON form is the signed envelope; CSV and HTML are the report's own."""
    columns = ["target", "mode", "objects", "bytes", "audited_in_period", "checks", "failed"]
    columns += ["repairs", "coverage", "overdue"]
    rows = []
    for t in report.targets:
        row = {c: getattr(t, c) for c in columns}
        row["coverage"] = f"{t.coverage:.1%}" + (
            f" (sample {t.sample_coverage:.1%})" if t.sample_coverage is not None else ""
        )
        rows.append(row)
    lines = []
    for f in report.failures:
        resolution = f.resolution + (f" from {f.repair_source}" if f.repair_source else "")
        lines.append(f"failure {f.time} {f.target} {f.aip_id}: {f.outcome} → {resolution}")
    return Result(
        f"fixity report {report.period_from} – {report.period_to}",
        columns,
        rows,
        data=signed,
        lines=lines,
        render_csv=lambda: to_csv(report),
        render_html=lambda: html,
    )
