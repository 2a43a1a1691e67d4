"""What can go wrong, as exceptions: the archive's problem+json answers mapped by status."""

from __future__ import annotations

from typing import Any

import httpx


class ClientError(Exception):
    """Every error this client raises."""


class TransportFailed(ClientError):
    """The archive could not be reached, even after retries."""


class ApiError(ClientError):
    """An answer other than the one asked for; ``problem`` is the RFC 9457 body, if any."""

    def __init__(self, status: int, problem: dict[str, Any], text: str = "") -> None:
        self.status = status
        self.problem = problem
        self.type = problem.get("type", "about:blank")
        self.title = problem.get("title", "")
        self.detail = problem.get("detail") or self.title or text[:300] or f"HTTP {status}"
        super().__init__(self.detail)


class BadRequest(ApiError):
    """400/406/413/415/416/422: the request is not valid."""


class Unauthorized(ApiError):
    """401: no or unknown token."""


class Forbidden(ApiError):
    """403: the token's role may not do this."""


class NotFound(ApiError):
    """404: unknown, or another agency's."""


class Conflict(ApiError):
    """409: e.g. an Idempotency-Key reused for other content, or no receipt yet."""


class ServerError(ApiError):
    """5xx: the archive failed, or no healthy copy could be read now (503)."""


class DigestMismatch(ClientError):
    """Downloaded bytes do not match the archive's digests."""


class ReceiptInvalid(ClientError):
    """A receipt's signature does not verify against the archive's keys."""


class WaitTimedOut(ClientError):
    """A SIP did not reach the wanted state in time; ``sip`` is its last state."""

    def __init__(self, message: str, sip: Any) -> None:
        super().__init__(message)
        self.sip = sip


_BY_STATUS = {401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict}


def raise_for_problem(response: httpx.Response, *expected: int) -> None:
    """Raise the :class:`ApiError` subclass for ``response`` unless its status is expected."""
    if response.status_code in (expected or (200,)):
        return
    response.read()
    try:
        body = response.json()
    except ValueError:
        body = {}
    problem = body if isinstance(body, dict) else {}
    status = response.status_code
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else BadRequest)
    raise cls(status, problem, response.text)
