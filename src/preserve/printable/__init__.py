"""Printable reports: the human units, local times and the A4 page that every exported report
shares (the fixity report, the recovery drill, the holdings statistics) and the web console
shows.

:func:`environment` is a Jinja2 environment (autoescaped) over a package's ``templates`` and
this package's ``printable.html``, the A4 layout a report extends: the archive's name at the
top of every page, "第 n / m 页" at the bottom, labels Chinese first and English second.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

_UNITS = ("B", "KB", "MB", "GB", "TB", "PB", "EB")


def human_bytes(value: int | None) -> str:
    """1024-based, one decimal: 41234567890123 → '37.5 TB'."""
    if value is None:
        return "—"
    size, unit = float(value), 0
    while abs(size) >= 1024 and unit < len(_UNITS) - 1:
        size, unit = size / 1024, unit + 1
    return f"{int(size)} B" if unit == 0 else f"{size:.1f} {_UNITS[unit]}"


def human_duration(seconds: float | None) -> str:
    """'< 0.1 s', '3.4 s', '12 min 05 s', '5 h 07 min', '3 d 04 h': never a bare 0:00:00 for
    a time that was measured but short."""
    if seconds is None:
        return "—"
    if seconds < 0.1:
        return "< 0.1 s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours:02d} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s"


@cache
def zone(name: str):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local_time(value: datetime | str | None, zone_name: str = "UTC") -> str:
    """'2026-12-03 23:21:05 UTC+08:00': seconds, no microseconds, the zone always named."""
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    here = value.astimezone(zone(zone_name))
    offset = here.strftime("%z")
    return f"{here:%Y-%m-%d %H:%M:%S} UTC{offset[:3]}:{offset[3:]}"


def loader(package: str) -> ChoiceLoader:
    """``package``'s templates, then the shared A4 layout."""
    return ChoiceLoader(
        [PackageLoader(package, "templates"), PackageLoader("preserve.printable", "templates")]
    )


FILTERS = {"bytes": human_bytes, "duration": human_duration}


@cache
def environment(package: str) -> Environment:
    env = Environment(
        loader=loader(package),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def render(package: str, template: str, archive_name: str, zone_name: str, **values) -> str:
    """A report page: ``when`` shows times in ``zone_name``; ``archive_name`` heads each page."""
    page = environment(package).get_template(template)
    when = lambda v: local_time(v, zone_name)  # noqa: E731
    return page.render(archive_name=archive_name, when=when, **values)
