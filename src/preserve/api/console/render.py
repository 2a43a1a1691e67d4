"""Rendering: one Jinja2 environment per language, autoescaped, with the filters officers
asked for (human byte units, local times with their zone, UUIDs that never wrap)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from preserve.api.console import i18n, nav

_UNITS = ("B", "KB", "MB", "GB", "TB", "PB", "EB")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def human_bytes(value: int | None) -> str:
    """1024-based, one decimal: 41234567890123 → '37.5 TB'."""
    if value is None:
        return "—"
    size, unit = float(value), 0
    while abs(size) >= 1024 and unit < len(_UNITS) - 1:
        size, unit = size / 1024, unit + 1
    return f"{int(size)} B" if unit == 0 else f"{size:.1f} {_UNITS[unit]}"


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


def uuid_span(value: str | None, short: bool = False) -> Markup:
    """A UUID on one line (CSS ``white-space: nowrap``); ``short`` shows its first 8 hex digits
    with the whole id as the title."""
    if not value:
        return Markup("—")
    shown = value[:8] + "…" if short and len(value) > 9 else value
    return Markup('<span class="uuid" title="{}">{}</span>').format(escape(value), shown)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@cache
def environment(lang: str) -> Environment:
    env = Environment(
        loader=PackageLoader("preserve.api.console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(bytes=human_bytes, uuid=uuid_span, percent=percent)
    return env


def language(request: Request) -> str:
    return i18n.negotiate(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))


def page(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    rt = request.app.state.runtime
    lang = language(request)
    who = (context or {}).get("who")
    zone_name = rt.settings.display_timezone
    values = {
        "request": request,
        "lang": lang,
        "archive_name": rt.settings.archive_name,
        "nav": nav.for_role(who.role) if who is not None else [],
        "path": request.url.path,
        "when": lambda v: local_time(v, zone_name),
        **(context or {}),
    }
    html = environment(lang).get_template(template).render(values)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
