"""Rendering: one Jinja2 environment per language, autoescaped, with the filters officers
asked for (human byte units and durations, local times with their zone, UUIDs that never wrap).
The printable reports' templates (``access/templates``, ``printable/templates``) are found too, so
a report page includes the very body its exported page has."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from preserve import printable
from preserve.api.console import i18n, nav
from preserve.printable import human_bytes, human_duration, local_time

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


def uuid_span(value: str | None, short: bool = False) -> Markup:
    """A UUID on one line (CSS ``white-space: nowrap``); ``short`` shows its first 8 hex digits
    with the whole id as the title."""
    if not value:
        return Markup("—")
    shown = value[:8] + "…" if short and len(value) > 9 else value
    return Markup('<span class="uuid" title="{}">{}</span>').format(escape(value), shown)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


_CONSOLE = PackageLoader("preserve.api.console", "templates")


@cache
def environment(lang: str) -> Environment:
    env = Environment(
        loader=ChoiceLoader([_CONSOLE, printable.loader("preserve.access")]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(bytes=human_bytes, duration=human_duration, uuid=uuid_span, percent=percent)
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
