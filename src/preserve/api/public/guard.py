"""The public face's one middleware: per-address rate limit and the headers every answer
carries. Plain ASGI (no buffering of streamed files).

- ``Cache-Control: no-store``: no browser or proxy keeps an answer, so a withdrawn record is
  gone from the next request on;
- no cookie ever leaves (``Set-Cookie`` is dropped, whoever set it);
- ``Referrer-Policy: no-referrer``, ``X-Content-Type-Options: nosniff``, and on pages a
  Content-Security-Policy that loads nothing from elsewhere.
Nothing about the client is logged here; the address is used for the bucket and forgotten.
"""

from __future__ import annotations

import json
from typing import Any

from preserve.api.public.ratelimit import TokenBuckets, retry_after

PAGE_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
    "frame-src 'self'; object-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'self'"
)
_FIXED = [
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
]
_REPLACED = {b"set-cookie", b"cache-control", b"referrer-policy", b"x-content-type-options"}


class PublicGuard:
    def __init__(self, app: Any, buckets: TokenBuckets) -> None:
        self.app = app
        self.buckets = buckets

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.buckets.take(client[0] if client else "-")
        if wait:
            await _too_many(send, wait, scope.get("root_path", "") + scope.get("path", ""))
            return

        async def guarded(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers") or [] if k.lower() not in _REPLACED
                ]
                headers.extend(_FIXED)
                media = dict(headers).get(b"content-type", b"")
                if media.startswith(b"text/html"):
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, guarded)


async def _too_many(send: Any, wait: float, path: str) -> None:
    body = json.dumps(
        {
            "type": "https://preserve.dev/problems/too-many-requests",
            "title": "Too many requests",
            "status": 429,
            "detail": "too many requests from this address; try again later",
            "instance": path,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", retry_after(wait).encode()),
                *_FIXED,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
