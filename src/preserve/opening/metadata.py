"""What a record's own metadata says about opening: its classification (密级), the secrecy
period (保密期限), its category (门类) and the transferring agency's opening advice
(开放审核建议), which is shown to the reviewer and never applied by itself."""

from __future__ import annotations

from datetime import date
from typing import Any

# 秘密, 机密, 绝密 and their English names: a state secret, never opened without a recorded
# declassification. 公开/内部/限制/非密 are not state-secret classifications.
SECRET = frozenset({"秘密", "机密", "绝密", "secret", "confidential", "top-secret"})
_PERIOD = ("secrecy_period", "保密期限")
_ADVICE = ("opening_advice", "开放审核建议", "开放建议")
_CATEGORY = ("category", "门类")


def _first(doc: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if doc.get(name) not in (None, ""):
            return doc[name]
    return None


def classification(doc: dict[str, Any]) -> str | None:
    value = doc.get("classification", doc.get("密级"))
    return str(value).strip() if value not in (None, "") else None


def is_classified(doc: dict[str, Any]) -> bool:
    value = classification(doc)
    return value is not None and value.casefold() in SECRET


def secrecy_period(doc: dict[str, Any]) -> str | None:
    value = _first(doc, _PERIOD)
    return None if value is None else str(value)[:200]


def category(doc: dict[str, Any]) -> str | None:
    value = _first(doc, _CATEGORY)
    return None if value is None or isinstance(value, dict | list) else str(value)


def opening_advice(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The agency's advice as sent: ``"open"``/``"controlled"`` or an object with ``advice``,
    ``reason`` and ``date``; anything else is passed on as text for the reviewer to read."""
    value = _first(doc, _ADVICE)
    if value is None:
        return None
    if isinstance(value, dict):
        return {
            "advice": _text(value.get("advice", value.get("建议"))),
            "reason": _text(value.get("reason", value.get("理由"))),
            "date": _text(value.get("date", value.get("日期"))),
        }
    return {"advice": _text(value), "reason": None, "date": None}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:2000]


def formation_date(record_date: str | None, year: str | None) -> date | None:
    """When the record was formed: its date, else the end of its year."""
    if record_date:
        try:
            return date.fromisoformat(record_date[:10])
        except ValueError:
            pass
    if year and year[:4].isdigit():
        return date(int(year[:4]), 12, 31)
    return None


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
