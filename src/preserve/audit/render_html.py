"""The fixity report as one self-contained, printable HTML page (no scripts, no outside assets).

The chart of checks and failures per day is an inline SVG drawn here on the server.
"""

from __future__ import annotations

from html import escape

from preserve.audit.report import DayCount, FixityReport, TargetSummary

CSS = """
@page { size: A4; margin: 14mm; }
body { font: 10.5pt/1.4 "Noto Sans", "Source Han Sans SC", "Microsoft YaHei", Arial, sans-serif;
       color: #111; max-width: 190mm; margin: 0 auto; }
h1 { font-size: 16pt; margin: 0 0 2mm; } h2 { font-size: 12pt; margin: 6mm 0 2mm; }
.meta { color: #444; margin: 0 0 4mm; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; font-size: 9pt; }
th, td { border: 1px solid #bbb; padding: 1.2mm 1.6mm; text-align: left; vertical-align: top; }
th { background: #eee; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.bad { color: #b00020; font-weight: 600; } .good { color: #1b5e20; }
.detail { font-size: 8pt; word-break: break-all; }
tr { page-break-inside: avoid; } svg { width: 100%; height: auto; }
footer { margin-top: 6mm; font-size: 8.5pt; color: #555; }
"""


def render_html(report: FixityReport, key_id: str | None = None) -> str:
    period = f"{report.period_from or 'the beginning'} – {report.period_to}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>Fixity report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Fixity report</h1>",
        f'<p class="meta">Period: {escape(period)}<br>Generated: {escape(report.generated_at)}'
        f"<br>AIPs in the catalogue: {report.aips}"
        f"<br>受威胁的 AIP (AT_RISK, policy not met over verified copies): {report.aips_at_risk}"
        + (f"<br>Target: {escape(report.target_filter)}" if report.target_filter else "")
        + "</p>",
        "<h2>Checks and failures per day</h2>",
        chart_svg(report.daily),
        "<h2>Targets</h2>",
        _targets_table(report.targets),
        f"<h2>Failures ({len(report.failures)})</h2>",
        _failures_table(report),
        _footer(key_id),
        "</body></html>",
    ]
    return "\n".join(parts)


def _targets_table(targets: list[TargetSummary]) -> str:
    head = (
        "<tr><th>Target</th><th>Mode</th><th>Objects</th><th>Files</th><th>Bytes</th>"
        "<th>Audited in period</th><th>Checks</th><th>OK</th><th>Failed</th><th>Repairs</th>"
        "<th>Coverage</th><th>Overdue</th></tr>"
    )
    rows = []
    for t in targets:
        mode = escape(t.mode)
        if t.mode == "sample":
            mode += f" ({t.sample_share:.0%} per interval)"
        coverage = f"{t.coverage:.1%} within {t.interval_days} d"
        if t.sample_coverage is not None:
            coverage += f"<br>{t.sample_coverage:.1%} of the sample"
        failed = f'<span class="bad">{t.failed}</span>' if t.failed else "0"
        overdue = f'<span class="bad">{t.overdue}</span>' if t.overdue else "0"
        cells = [
            escape(t.target),
            mode,
            *(f"{v:,}" for v in (t.objects, t.files, t.bytes, t.audited_in_period, t.checks)),
            f"{t.ok:,}",
            failed,
            f"{t.repairs:,}",
            coverage,
            overdue,
        ]
        classes = ["", "", *(["n"] * 10)]
        tds = "".join(f'<td class="{c}">{v}</td>' for c, v in zip(classes, cells, strict=True))
        rows.append(f"<tr>{tds}</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _failures_table(report: FixityReport) -> str:
    if not report.failures:
        return '<p class="good">No failures in this period.</p>'
    head = (
        "<tr><th>Time</th><th>Target</th><th>AIP</th><th>Outcome</th><th>Resolution</th>"
        "<th>Detail</th></tr>"
    )
    rows = []
    for f in report.failures:
        resolution = escape(f.resolution or "")
        if f.repair_source:
            resolution += f" from {escape(f.repair_source)}"
        if f.resolved_at:
            resolution += f"<br>{escape(f.resolved_at)}"
        style = "good" if f.resolution in ("repaired", "resolved") else "bad"
        rows.append(
            f"<tr><td>{escape(f.time)}</td><td>{escape(f.target or '')}</td>"
            f'<td class="detail">{escape(f.aip_id)}</td><td class="bad">{escape(f.outcome)}</td>'
            f'<td class="{style}">{resolution}</td><td class="detail">{escape(f.detail)}</td></tr>'
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _footer(key_id: str | None) -> str:
    signed = (
        f"The JSON form of this report is signed with the archive key {escape(key_id)}; "
        "check it with <code>preserve report verify FILE</code>."
        if key_id
        else ""
    )
    return (
        "<footer>Every check re-reads the stored bytes and compares their SHA-256 with the "
        "digest recorded at ingest and with the bag manifest, and verifies the signature over "
        f"the tag manifest. {signed}</footer>"
    )


def chart_svg(days: list[DayCount], width: int = 720) -> str:
    """Checks per day, and below them failures per day on their own scale (a handful of
    failures must stay visible next to thousands of checks)."""
    left, right, gap = 56, 16, 26
    checks_h, failures_h, top = 140, 44, 10
    height = top + checks_h + gap + failures_h + 40
    slot = (width - left - right) / max(len(days), 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        'role="img" aria-label="Checks and failures per day">',
        "<title>Checks and failures per day</title>",
    ]
    out += _bars(days, "checks", "#5b7db1", left, top, checks_h, slot, width - right)
    strip = top + checks_h + gap
    out += _bars(days, "failures", "#c62828", left, strip, failures_h, slot, width - right)
    label_y = strip + failures_h + 14
    for i in sorted({0, len(days) // 2, len(days) - 1} if days else set()):
        anchor = "start" if i == 0 else "end" if i == len(days) - 1 else "middle"
        x = left + (i * slot if i == 0 else (i + 1) * slot if anchor == "end" else (i + 0.5) * slot)
        out.append(
            f'<text x="{x:.1f}" y="{label_y}" font-size="9" text-anchor="{anchor}">'
            f"{escape(days[i].day)}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _bars(days, field, colour, left, top, plot_h, slot, right) -> list[str]:
    peak = max((getattr(d, field) for d in days), default=0)
    scale = peak or 1
    bar = max(slot * 0.8, 0.5)
    out = [
        f'<text x="{left - 6}" y="{top + 9}" font-size="9" text-anchor="end">{peak:,}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" font-size="9" text-anchor="end">0</text>',
        f'<text x="{left - 6}" y="{top + plot_h / 2 + 3:.1f}" font-size="9" text-anchor="end" '
        f'fill="{colour}">{field}</text>',
        f'<line x1="{left}" x2="{right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#999"/>',
        f'<line x1="{left}" x2="{right}" y1="{top}" y2="{top}" stroke="#e4e4e4"/>',
    ]
    for i, d in enumerate(days):
        value = getattr(d, field)
        if not value:
            continue
        h = max(plot_h * value / scale, 1.5)
        x = left + i * slot + (slot - bar) / 2
        out.append(
            f'<rect x="{x:.2f}" y="{top + plot_h - h:.2f}" width="{bar:.2f}" height="{h:.2f}" '
            f'fill="{colour}"><title>{escape(d.day)}: {value:,} {field}</title></rect>'
        )
    return out
