"""Structured logs: JSON lines (or text for a terminal) with the request id that caused them.

The API takes a request id from ``X-Request-ID`` (or makes one) and keeps it in
:data:`request_id` while the request runs; a job enqueued then carries it in its payload
(:func:`preserve.catalog.queue.enqueue`), and the worker sets it again while the job runs, so
one id follows a record from the HTTP request through every job it caused. JSON formatting is
python-json-logger's; this module only decides the fields.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("preserve_request_id", default=None)

_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_FIELDS = ("asctime", "levelname", "name", "message")


def accept_request_id(sent: str | None) -> str:
    """The client's ``X-Request-ID`` when it is a short plain token, else a new one: an id
    goes into every log line, so nothing else a client sends is echoed there."""
    if sent and _VALID_ID.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def _formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter(
            " ".join(f"%({f})s" for f in (*_FIELDS, "request_id")),
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")


def configure(fmt: str = "auto", level: str = "INFO") -> None:
    """Send every log line, uvicorn's included, to stderr in one format: ``json``, ``text``,
    or ``auto`` (text on a terminal, JSON otherwise). uvicorn's own access log is turned off:
    the API writes one access line per request with its id and duration."""
    if fmt == "auto":
        fmt = "text" if sys.stderr.isatty() else "json"
    handler = logging.StreamHandler()
    handler.setFormatter(_formatter(fmt))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
