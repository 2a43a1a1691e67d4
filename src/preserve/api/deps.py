"""Request dependencies: the runtime, a unit of work, and the authenticated principal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from preserve.api.bodies import BodyLimits, UploadSlots, guarded
from preserve.catalog.models import Role
from preserve.errors import Forbidden, Unauthorized
from preserve.runtime import Runtime
from preserve.trust.tokens import authenticate

_bearer = HTTPBearer(auto_error=False, description="A token from `preserve tokens create`.")


@dataclass(frozen=True)
class Principal:
    agency_id: int
    agency_name: str
    role: Role
    token_id: int = 0

    @property
    def scope(self) -> int | None:
        """The agency a lookup is limited to: a submitter sees only its own records."""
        return self.agency_id if self.role == Role.SUBMITTER else None


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def db(rt: Runtime = Depends(runtime)) -> Iterator[Session]:
    with rt.sessions.begin() as session:
        yield session


def principal(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    rt: Runtime = Depends(runtime),
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send 'Authorization: Bearer <token>'")
    with rt.read_sessions.begin() as session:  # a lookup: on SQLite, no write lock
        token = authenticate(session, credentials.credentials)
        return Principal(token.agency_id, token.agency.name, token.role, token.id)


def require(*roles: Role) -> Callable[..., Principal]:
    allowed = set(roles) | {Role.ADMIN}

    def check(who: Principal = Depends(principal)) -> Principal:
        if who.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"role {who.role.value} may not do this; allowed: {names}")
        return who

    return check


@asynccontextmanager
async def guarded_body(request: Request, who: Principal) -> AsyncIterator[AsyncIterator[bytes]]:
    """The request body under the idle/min-rate timeout, in one of the token's upload slots."""
    limits = BodyLimits.of(runtime(request).settings)
    slots: UploadSlots = request.app.state.upload_slots
    async with slots.take(str(who.token_id), limits.per_token):
        yield guarded(request.stream(), limits)
