"""The recovery-drill report as CSV (one row per restored sample) and as a page to file."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from html import escape

from preserve.access.drill import DrillReport, TargetDrill

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


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    return str(timedelta(seconds=round(seconds)))


def to_html(report: DrillReport) -> str:
    verdict = "PASSED" if report.failed == 0 else f"FAILED ({report.failed} restores failed)"
    rows = "".join(_target_row(t) for t in report.targets)
    samples = "".join(_sample_rows(t) for t in report.targets)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Recovery drill {escape(report.started_at)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}
table{{border-collapse:collapse;margin:1rem 0}}th,td{{border:1px solid #bbb;padding:.3rem .6rem}}
th{{background:#eee}}td.num{{text-align:right}}.fail{{color:#b00;font-weight:bold}}
</style></head><body>
<h1>Recovery drill: {escape(verdict)}</h1>
<p>Profile <b>{escape(report.profile)}</b>; started {escape(report.started_at)}, finished
{escape(report.finished_at)}; {report.sample_size} AIPs sampled per target (seed {report.seed}).
Each sample was restored into a scratch area with every digest and the signature verified,
timed, and deleted; the stores were only read.</p>
<h2>Per target</h2>
<table><tr><th>target</th><th>site</th><th>media</th><th>AIPs held</th><th>bytes held</th>
<th>sampled</th><th>failed</th><th>MB/s</th><th>s per AIP</th>
<th>estimated full restore</th></tr>{rows}</table>
<p>Estimated full restore: the larger of (mean seconds per sampled AIP &times; AIPs held) and
(bytes held &divide; measured throughput).</p>
<h2>Samples</h2>
<table><tr><th>target</th><th>AIP</th><th>result</th><th>files</th><th>bytes</th>
<th>seconds</th><th>detail</th></tr>{samples}</table>
</body></html>
"""


def _target_row(t: TargetDrill) -> str:
    cells = [
        escape(t.target),
        escape(t.site),
        escape(t.media),
        str(t.aips_held),
        str(t.bytes_held),
        str(len(t.samples)),
        str(t.failed),
        "n/a" if t.throughput_mb_s is None else f"{t.throughput_mb_s:.1f}",
        "n/a" if t.seconds_per_aip is None else f"{t.seconds_per_aip:.2f}",
        duration(t.estimated_full_restore_seconds),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>\n"


def _sample_rows(t: TargetDrill) -> str:
    rows = []
    for s in t.samples:
        result = "ok" if s.ok else '<span class="fail">FAILED</span>'
        rows.append(
            f"<tr><td>{escape(t.target)}</td><td>{escape(s.aip_id)}</td><td>{result}</td>"
            f'<td class="num">{s.files}</td><td class="num">{s.bytes}</td>'
            f'<td class="num">{s.seconds:.3f}</td><td>{escape(s.detail)}</td></tr>\n'
        )
    return "".join(rows)
