"""The console's navigation, by role: one table every page adds itself to.

A later page (disposal/appraisal, opening review, ...) registers its entry where its router is
defined, with the roles that may see it::

    from preserve.api.console.nav import NavItem, register
    register(NavItem("/console/disposal", "Disposal", (Role.OFFICER,), order=60))

and protects its route with the same roles (``Depends(allow(Role.OFFICER))`` from
``preserve.api.console.auth``). The label is an English message id; add its Chinese to
``locale/zh/LC_MESSAGES/console.po``. The administrator sees what the API lets it do: every page
but the security officer's and the auditor's (separated duties, ``trust/duties.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from preserve.catalog.models import Role

READERS = (Role.SUBMITTER, Role.OFFICER, Role.OPS, Role.ADMIN)
OFFICERS = (Role.OFFICER, Role.ADMIN)
OPS = (Role.OPS, Role.ADMIN)
AUDITORS = (Role.AUDITOR,)
SECURITY = (Role.SECURITY,)
SUBMITTERS = (Role.SUBMITTER, Role.ADMIN)  # as POST /v1/uploads and /v1/sips
# issue 15 (disposal) and 16 (opening review): the same roles as /v1/appraisals, /v1/openings
APPRAISAL = (Role.OFFICER, Role.APPRAISER, Role.ADMIN)
OPENING = (Role.OFFICER, Role.SECURITY, Role.ADMIN)


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    roles: tuple[Role, ...]
    order: int = 100


_ITEMS: list[NavItem] = []


def register(item: NavItem) -> NavItem:
    if all(existing.path != item.path for existing in _ITEMS):
        _ITEMS.append(item)
    return item


def for_role(role: Role) -> list[NavItem]:
    return sorted((i for i in _ITEMS if role in i.roles), key=lambda i: (i.order, i.path))


def allowed(role: Role, path: str) -> bool:
    return any(i.path == path for i in for_role(role))


register(NavItem("/console/dashboard", "Dashboard", OFFICERS, 10))
register(NavItem("/console/reports/fixity", "Fixity report", OFFICERS, 20))
register(NavItem("/console/reports/drills", "Recovery drills", OFFICERS, 25))
register(NavItem("/console/records", "Records", READERS, 30))
register(NavItem("/console/sips", "Submissions", READERS, 40))
register(NavItem("/console/transfer", "Transfer files", SUBMITTERS, 45))
register(NavItem("/console/ops/storage", "Storage", OPS, 50))
register(NavItem("/console/ops/jobs", "Job queue", OPS, 55))
register(NavItem("/console/appraisals", "Appraisal", APPRAISAL, 60))
register(NavItem("/console/openings", "Opening review", OPENING, 65))
register(NavItem("/console/audit/log", "Event log", AUDITORS, 70))
register(NavItem("/console/security/tokens", "Tokens", SECURITY, 80))
register(NavItem("/console/security/keys", "Keys", SECURITY, 85))
