"""The published catalogue of open records (开放档案目录): what opened in a period, issued as a
signed JSON document (RFC 8785 canonical form, the archive's key, like receipts), with CSV and
a printable page made from the same entries.

Anyone can check an issue: canonicalise ``catalogue`` with any JCS implementation and verify
``signature`` (its ``signed_file`` is ``catalogue.json``) with a key from ``/public/v1/keys``.
A withdrawn record leaves every issue that listed it: the issue is re-signed without it
(``revision`` goes up), so no public answer keeps it.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from preserve.canonical import JCS, canonical
from preserve.catalog.opening_tables import PublishedCatalogue
from preserve.catalog.types import utcnow
from preserve.errors import InvalidInput
from preserve.opening import repository
from preserve.opening.events import on_catalogue
from preserve.trust.signing import Signature, sign, verify

SIGNED_FILE = "catalogue.json"
CATALOGUE_VERSION = 1


def _instant(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def publish(
    session: Session, period_from: date, period_to: date, key: Any, agent: str, fields: list[str]
) -> PublishedCatalogue:
    """Issue the catalogue of records opened from ``period_from`` to ``period_to`` inclusive."""
    if period_to < period_from:
        raise InvalidInput("the period ends before it starts")
    records = repository.opened_between(
        session, _instant(period_from), _instant(period_to + timedelta(days=1))
    )
    entries = [
        {
            "id": r.id,
            "opened_at": r.opened_at.isoformat().replace("+00:00", "Z"),
            **{name: r.fields.get(name) for name in fields},
        }
        for r in records
    ]
    row = PublishedCatalogue(
        period_from=period_from,
        period_to=period_to,
        record_count=len(entries),
        key_id="",
        document="",
    )
    session.add(row)
    session.flush()
    body = {
        "catalogue_version": CATALOGUE_VERSION,
        "canonicalization": JCS,
        "id": row.id,
        "revision": 1,
        "period": {"from": period_from.isoformat(), "to": period_to.isoformat()},
        "issued_at": utcnow().isoformat().replace("+00:00", "Z"),
        "fields": fields,
        "entries": entries,
    }
    _sign_into(row, body, key)
    on_catalogue(
        session, row.id, f"open records catalogue {period_from}..{period_to}: {len(entries)}", agent
    )
    return row


def _sign_into(row: PublishedCatalogue, body: dict[str, Any], key: Any) -> None:
    signature = sign(key, canonical(body), SIGNED_FILE)
    row.document = json.dumps(
        {"catalogue": body, "signature": json.loads(signature.to_json())}, ensure_ascii=False
    )
    row.key_id = signature.key_id
    row.record_count = len(body["entries"])


def withdraw_from_catalogues(session: Session, aip_id: str, key: Any, agent: str) -> int:
    """Re-sign every issue that lists ``aip_id`` without it; the number re-issued."""
    count = 0
    for row in repository.catalogues_naming(session, aip_id):
        body = json.loads(row.document)["catalogue"]
        body["entries"] = [e for e in body["entries"] if e.get("id") != aip_id]
        body["revision"] = int(body.get("revision", 1)) + 1
        body["reissued_at"] = utcnow().isoformat().replace("+00:00", "Z")
        _sign_into(row, body, key)
        on_catalogue(
            session, row.id, f"re-issued (revision {body['revision']}): a withdrawal", agent
        )
        count += 1
    return count


def verify_document(document: dict[str, Any], trusted: Any) -> dict[str, Any]:
    signature = Signature.from_json(json.dumps(document["signature"]).encode())
    verify(signature, canonical(document["catalogue"]), trusted)
    return document["catalogue"]


def to_csv(body: dict[str, Any]) -> str:
    out = io.StringIO()
    columns = ["id", "opened_at", *body["fields"]]
    writer = csv.writer(out)
    writer.writerow(columns)
    for entry in body["entries"]:
        writer.writerow(["" if entry.get(c) is None else entry[c] for c in columns])
    return out.getvalue()
