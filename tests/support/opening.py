"""Opening review in tests: records with text, tokens for the people of the review, and the
steps (propose, review, approve) through the real API."""

from __future__ import annotations

from typing import Any

from preserve.catalog.models import Role
from preserve.jobs.worker import drain
from support.http import auth


def text_pdf(text: str) -> bytes:
    """A one-page PDF whose content stream shows ``text`` (ASCII) in Helvetica."""
    import io

    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    page = pdf.pages[0]
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.Contents = pdf.make_stream(b"BT /F1 12 Tf 72 720 Td (" + text.encode("ascii") + b") Tj ET")
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


class People:
    """Two officers, a security officer and a submitter, each with a token of their own."""

    def __init__(self, make_token) -> None:
        self.officer = auth(make_token("archive", Role.OFFICER))
        self.second_officer = auth(make_token("archive", Role.OFFICER))
        self.security = auth(make_token("archive", Role.SECURITY))
        self.submitter = auth(make_token("agency-a", Role.SUBMITTER))


def propose(client, people: People, *decisions: dict[str, Any]) -> str:
    response = client.post(
        "/v1/openings", json={"decisions": list(decisions)}, headers=people.officer
    )
    assert response.status_code == 201, response.text
    assert response.json()["state"] == "proposed"
    return response.json()["id"]


def open_records(rt, client, people: People, *aip_ids: str) -> str:
    """Propose, pass the review, approve by the second officer, run the full-text job."""
    opening = propose(
        client, people, *({"aip_id": a, "decision": "open", "reason": "due"} for a in aip_ids)
    )
    reviewed = client.post(
        f"/v1/openings/{opening}/review",
        json={"outcome": "pass", "reason": "nothing secret"},
        headers=people.security,
    )
    assert reviewed.status_code == 200, reviewed.text
    approved = client.post(f"/v1/openings/{opening}/approve", headers=people.second_officer)
    assert approved.status_code == 200, approved.text
    drain(rt)
    return opening
