"""Helpers for the audit tests: ingest over HTTP, reach into a replica, run the scheduler,
and a real webhook receiver on loopback."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import select, update

from preserve.aip.layout import aip_prefix
from preserve.catalog.models import FixityCheck, Replica
from preserve.catalog.types import utcnow
from preserve.jobs.scheduler import tick
from preserve.jobs.worker import drain
from support.ingest import ingest as preserve_record
from support.records import MINIMAL_PDF

GOOD, BAD = "site-a-disk", "site-b-nas"
_codes = itertools.count(1)
FILES = {"docs/notice.pdf": MINIMAL_PDF, "附件/说明.txt": "说明文字\n".encode() * 50}


def ingest(rt, client, make_token, files: dict[str, bytes] = FILES, **meta) -> str:
    """Push a SIP over HTTP, run every job, return the AIP id (archival codes kept unique)."""
    meta.setdefault("archival_code", f"A001-WS-2024-Y-{next(_codes):04d}")
    return preserve_record(rt, client, make_token, files, **meta)


def replica_dir(rt, aip_id: str, target: str) -> Path:
    return Path(rt.profile().target(target).root) / aip_prefix(aip_id)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def make_due(rt, aip_id: str | None = None) -> None:
    """Pretend the audit of every replica (of one AIP) fell due a minute ago."""
    due = utcnow() - timedelta(minutes=1)
    stmt = update(Replica).values(audit_due_at=due, next_audit_at=due)
    if aip_id:
        stmt = stmt.where(Replica.aip_id == aip_id)
    with rt.sessions.begin() as session:
        session.execute(stmt)


def scheduled_round(rt) -> int:
    """One scheduler tick, then every job it queued: what `preserve serve` does over time."""
    assert tick(rt, force=True) is not None
    return drain(rt)


def checks(rt, aip_id: str) -> list[FixityCheck]:
    with rt.sessions() as session:
        stmt = select(FixityCheck).where(FixityCheck.aip_id == aip_id).order_by(FixityCheck.id)
        found = list(session.scalars(stmt))
        session.expunge_all()
        return found


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append(  # type: ignore[attr-defined]
            (self.headers.get("Content-Type"), json.loads(body))
        )
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@contextmanager
def webhook_receiver(status: int = 204) -> Iterator[tuple[str, list]]:
    """A real HTTP server on 127.0.0.1 recording every POST (content type, JSON body)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    server.status = status  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/preserve", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
