"""The fixity report as one self-contained, printable HTML page (no scripts, no outside assets).

Rendered from the Jinja2 template ``audit/templates/fixity_report.html`` (autoescaped), which the
web console's report page includes too, so the screen and the exported page are one rendering.
Labels are Chinese first, English second; sizes in human units; times local with their zone;
open failures (red) kept apart from resolved ones (green); A4 with page numbers and the
archive's name. The chart of checks and failures per day is an inline SVG drawn here.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from preserve.audit.report import DayCount, FixityReport
from preserve.printable import environment, human_bytes, local_time

__all__ = ["chart_svg", "human_bytes", "local_time", "render_html"]

OPEN = ("pending", "unrepairable")


def render_html(
    report: FixityReport,
    key_id: str | None = None,
    *,
    archive_name: str = "",
    zone_name: str = "UTC",
) -> str:
    return (
        environment("preserve.audit")
        .get_template("fixity_report.html")
        .render(
            report=report,
            key_id=key_id,
            archive_name=archive_name,
            chart=Markup(chart_svg(report.daily)),
            when=lambda v: local_time(v, zone_name),
            open_states=OPEN,
        )
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
