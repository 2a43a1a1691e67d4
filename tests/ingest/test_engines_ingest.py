"""A disagreement between Siegfried and fido, end to end: a ``warn`` on check 3-3, the PREMIS
identification event (in the catalogue and in the AIP's premis.xml), and ``formats.json``."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from preserve.catalog.events import EventType
from preserve.catalog.models import Event
from preserve.jobs.worker import drain
from support.corpora import corpus
from support.http import auth
from support.records import MINIMAL_PDF, form, metadata

DISPUTED = "skeleton-suite/fmt/fmt-39-signature-id-128.doc"  # siegfried fmt/111, fido fmt/39


def test_a_disagreement_is_kept_everywhere(rt, client, make_token):
    doc = (corpus("siegfried-skeleton-suite-pronom-v116") / DISPUTED).read_bytes()
    headers = auth(make_token())
    files = {"letter.doc": doc, "notice.pdf": MINIMAL_PDF}
    response = client.post("/v1/sips", **form(files, metadata(), headers=headers))
    assert response.status_code == 202, response.text
    drain(rt)
    sip = client.get(f"/v1/sips/{response.json()['id']}", headers=headers).json()

    warned = [c for c in sip["checks"] if c["code"] == "3-3" and c["outcome"] == "warn"]
    assert any("disagree" in c["detail"] and "letter.doc" in c["detail"] for c in warned), sip
    with rt.sessions.begin() as session:
        event = session.scalars(
            select(Event).where(
                Event.type == EventType.FORMAT_IDENTIFICATION, Event.object_id == sip["id"]
            )
        ).one()
        assert "letter.doc: siegfried fmt/111 (signature), fido fmt/39" in event.detail
        assert "DROID_SignatureFile_V125.xml" in event.detail and "PRONOM v116" in event.detail
        assert event.agent.startswith("siegfried ") and "fido 1.6.1" in event.agent

    assert sip["state"] == "PRESERVED", sip  # a disagreement warns, it does not reject
    bag = next(Path(rt.profile().targets[0].root).rglob(sip["aip_id"]))
    formats = {f["path"]: f for f in json.loads((bag / "metadata/formats.json").read_text())}
    assert formats["letter.doc"]["disagreement"].startswith("siegfried fmt/111")
    assert formats["letter.doc"]["engines"] == ["siegfried", "fido"]
    assert formats["notice.pdf"]["disagreement"] is None
    assert "siegfried fmt/111 (signature), fido fmt/39" in (bag / "metadata/premis.xml").read_text()
