"""Separated duties (三员分立): system administrator, security officer, auditor.

Chinese e-archive system rules (GB/T 39784, the 2017 functional rules) split administration
among three people who check one another: the system administrator (系统管理员) runs the system
and its storage, the security officer (安全保密员) holds the keys and grants access, the security
auditor (安全审计员) reviews what the other two did. They map onto our roles: ``admin``,
``security`` and ``auditor``. No role holds two duties, so no one person can both act and cover
the act up: every administrative action is an event in the hash chain, and only the auditor
reads and verifies that chain over the API.
"""

from __future__ import annotations

import enum
import getpass

from preserve.catalog.models import Role
from preserve.errors import Forbidden


class Duty(enum.StrEnum):
    SYSTEM_ADMINISTRATOR = "system administrator (系统管理员)"
    SECURITY_OFFICER = "security officer (安全保密员)"
    AUDITOR = "security auditor (安全审计员)"


class Action(enum.StrEnum):
    PROFILE_OVERRIDE = "storage profile override"
    STORAGE_ADMINISTRATION = "storage administration"
    TOKEN_ISSUE = "token issue"
    TOKEN_REVOKE = "token revoke"
    KEY_ROTATE = "key rotate"
    KEY_REVOKE = "key revoke"
    KEY_EXPORT = "key export"
    LOG_READ = "log read"
    LOG_VERIFY = "log verify"


ROLE_DUTY: dict[Role, Duty] = {
    Role.ADMIN: Duty.SYSTEM_ADMINISTRATOR,
    Role.SECURITY: Duty.SECURITY_OFFICER,
    Role.AUDITOR: Duty.AUDITOR,
}

ACTION_DUTY: dict[Action, Duty] = {
    Action.PROFILE_OVERRIDE: Duty.SYSTEM_ADMINISTRATOR,
    Action.STORAGE_ADMINISTRATION: Duty.SYSTEM_ADMINISTRATOR,
    Action.TOKEN_ISSUE: Duty.SECURITY_OFFICER,
    Action.TOKEN_REVOKE: Duty.SECURITY_OFFICER,
    Action.KEY_ROTATE: Duty.SECURITY_OFFICER,
    Action.KEY_REVOKE: Duty.SECURITY_OFFICER,
    Action.KEY_EXPORT: Duty.SECURITY_OFFICER,
    Action.LOG_READ: Duty.AUDITOR,
    Action.LOG_VERIFY: Duty.AUDITOR,
}


def duty_of(role: Role) -> Duty | None:
    return ROLE_DUTY.get(role)


def authorize(role: Role, action: Action) -> Duty:
    """The duty ``action`` belongs to, if ``role`` holds it; else :class:`Forbidden`."""
    duty = ACTION_DUTY[action]
    if ROLE_DUTY.get(role) != duty:
        holder = next(r.value for r, d in ROLE_DUTY.items() if d == duty)
        raise Forbidden(f"{action.value} is the {duty.value}'s duty (role {holder}), not {role}'s")
    return duty


def cli_agent(duty: Duty) -> str:
    """The agent recorded for an action taken on the command line: who, in which duty."""
    return f"cli:{getpass.getuser()} as {duty.name.lower().replace('_', ' ')}"
