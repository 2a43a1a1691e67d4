"""Helpers for the disposal tests: people with their roles, records that fall due, the clock.

Import as ``disposal.disposal_support`` (the tests directory is on the path).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from preserve.catalog.models import Role
from preserve.jobs.worker import drain
from support.http import auth
from support.ingest import ingest

_codes = itertools.count(1)
BEFORE_DUE = datetime(2030, 12, 31, tzinfo=UTC)  # a 10-year record of 2020 falls due 2031-01-01
AFTER_DUE = datetime(2031, 1, 2, tzinfo=UTC)


@dataclass
class People:
    officer: dict[str, str]
    officer2: dict[str, str]
    appraiser: dict[str, str]
    admin: dict[str, str]
    submitter: dict[str, str]


def people(make_token) -> People:
    return People(
        auth(make_token("archive", Role.OFFICER)),
        auth(make_token("archive", Role.OFFICER)),
        auth(make_token("archive", Role.APPRAISER)),
        auth(make_token("archive", Role.ADMIN)),
        auth(make_token()),
    )


def record(rt, client, make_token, retention: str = "10y", date: str = "2020-05-04", **meta) -> str:
    """Ingest one record (PRESERVED on every target); its AIP id."""
    n = next(_codes)
    meta.setdefault("archival_code", f"A001-WS-2020-D10-{n:04d}")
    return ingest(
        rt,
        client,
        make_token,
        {f"doc-{n}.txt": f"record {n}\n".encode()},
        retention=retention,
        date=date,
        **meta,
    )


def set_clock(rt, when: datetime | None) -> None:
    rt.settings.disposal_clock = when


def propose(client, headers, *decisions: dict) -> dict:
    response = client.post("/v1/appraisals", json={"decisions": list(decisions)}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def destroy(aip_id: str, reason: str = "retention ended; no further value") -> dict:
    return {"aip_id": aip_id, "decision": "destroy", "reason": reason}


def approve(rt, client, headers, batch_id: str) -> dict:
    response = client.post(f"/v1/appraisals/{batch_id}/approve", headers=headers)
    assert response.status_code == 200, response.text
    drain(rt)
    return client.get(f"/v1/appraisals/{batch_id}", headers=headers).json()


def files_of(root: Path, aip_id: str) -> list[Path]:
    return [p for p in root.rglob("*") if aip_id in p.as_posix()]
