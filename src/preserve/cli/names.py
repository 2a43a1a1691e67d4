"""Names given on the command line are checked before anything runs: an unknown
``--target``, ``--aip`` or ``--agency`` is one ``error:`` line naming it and exit 2, so a
cron job with a typo fails instead of reporting a clean, empty result for years."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from preserve.catalog.repository import agency_names, aip_ids_present
from preserve.errors import UnknownName
from preserve.runtime import Runtime
from preserve.storage.placement import known_targets


def check_targets(rt: Runtime, session: Session, targets: Iterable[str | None]) -> None:
    wanted = [t for t in targets if t]
    if not wanted:
        return
    known = known_targets(session, rt.stores)
    _check("target", wanted, known)


def check_aips(session: Session, aip_ids: Iterable[str] | None) -> None:
    wanted = list(aip_ids or [])
    if wanted:
        _check("AIP", wanted, aip_ids_present(session, wanted), show_known=False)


def check_agency(session: Session, agency: str | None) -> None:
    if agency:
        _check("agency", [agency], agency_names(session))


def _check(kind: str, wanted: list[str], known: set[str], show_known: bool = True) -> None:
    unknown = [name for name in wanted if name not in known]
    if not unknown:
        return
    message = f"no {kind} named {', '.join(map(repr, unknown))}"
    if show_known:
        message += f" (known: {', '.join(sorted(known)[:10]) or 'none'})"
    raise UnknownName(message)
