"""One access line per request, and the request id that follows it into the jobs it causes.

A plain ASGI middleware (not Starlette's ``BaseHTTPMiddleware``, which buffers streamed
bodies): it sets :data:`preserve.logs.request_id` for the request, answers it in
``X-Request-ID``, and logs method, path, status, duration and bytes sent when the response
ends, and counts and times it for ``/metrics`` (:mod:`preserve.api.http_metrics`). The
query string is not logged.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from preserve.api import http_metrics
from preserve.logs import accept_request_id, request_id

log = logging.getLogger("preserve.access")

Scope = dict[str, Any]


class RequestLog:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(b"x-request-id", b"")
        rid = accept_request_id(sent.decode("latin-1") if sent else None)
        token = request_id.set(rid)
        started = time.perf_counter()
        outcome = {"status": 500, "bytes": 0}

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                outcome["bytes"] += len(message.get("body") or b"")
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            http_metrics.observe(scope, outcome["status"], seconds)
            log.info(
                "%s %s %s",
                scope.get("method"),
                scope.get("path"),
                outcome["status"],
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": outcome["status"],
                    "duration_ms": round(seconds * 1000, 1),
                    "bytes_sent": outcome["bytes"],
                },
            )
            request_id.reset(token)
