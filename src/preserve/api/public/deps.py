"""The public face's dependencies: a read-only session and the runtime, nothing else (no
principal: the public is anonymous)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from preserve.runtime import Runtime


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def readonly_db(rt: Runtime = Depends(runtime)) -> Iterator[Session]:
    with rt.readonly_sessions.begin() as session:
        yield session
