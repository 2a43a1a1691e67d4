"""PREMIS 3 export: valid against the official schema, with the AIP's objects, events, agents."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from preserve.jobs.worker import drain
from support.records import MINIMAL_PDF, form, metadata

XSD = Path(__file__).resolve().parents[1] / "data" / "premis" / "premis-v3-0.xsd"
NS = {"p": "http://www.loc.gov/premis/v3"}
FILES = {"docs/notice.pdf": MINIMAL_PDF, "附件/说明.txt": "说明文字\n".encode() * 5}


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def ingest(rt, client, token: str) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post("/v1/sips", **form(FILES, metadata(), headers=headers))
    assert response.status_code == 202, response.text
    drain(rt)
    return client.get(f"/v1/sips/{response.json()['id']}", headers=headers).json()["aip_id"]


def test_the_schema_rejects_what_it_should(schema):
    bad = b'<premis xmlns="http://www.loc.gov/premis/v3" version="2.0"/>'
    assert not schema.validate(etree.fromstring(bad))


def test_the_premis_export_validates_and_describes_the_aip(rt, client, make_token, schema):
    token = make_token()
    aip_id = ingest(rt, client, token)
    response = client.get(f"/v1/aips/{aip_id}/premis", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")

    doc = etree.fromstring(response.content)
    schema.assertValid(doc)
    xsi_type = "{http://www.w3.org/2001/XMLSchema-instance}type"
    objects = doc.findall("p:object", NS)
    assert [o.get(xsi_type) for o in objects] == [
        "premis:intellectualEntity",
        "premis:file",
        "premis:file",
    ]
    names = sorted(o.findtext("p:originalName", namespaces=NS) for o in objects[1:])
    assert names == sorted(FILES)
    digests = {
        d.findtext("p:messageDigestAlgorithm", namespaces=NS)
        for d in doc.iterfind(".//p:fixity", NS)
    }
    assert digests == {"SHA-256", "SHA-512"}
    assert doc.find(".//p:formatRegistryKey", NS).text.startswith("fmt/")
    types = [e.findtext("p:eventType", namespaces=NS) for e in doc.findall("p:event", NS)]
    assert {"ingestion", "format identification", "replication"} <= set(types)
    notes = [n.text for n in doc.iterfind(".//p:eventOutcomeDetailNote", NS)]
    assert notes and all(n.startswith("event log entry #") for n in notes)
    agents = {a.findtext("p:agentName", namespaces=NS) for a in doc.findall("p:agent", NS)}
    assert "agency:agency-a" in agents and "preserve" in agents


def test_the_aip_carries_valid_premis(rt, client, make_token, schema):
    """The bag itself holds PREMIS (objects, events, agents as packaged) on every target."""
    aip_id = ingest(rt, client, make_token())
    for target in rt.profile().targets:
        path = next(Path(target.root).glob(f"aips/*/*/{aip_id}/metadata/premis.xml"))
        doc = etree.parse(str(path))
        schema.assertValid(doc)
        names = {o.findtext("p:originalName", namespaces=NS) for o in doc.iterfind("p:object", NS)}
        assert set(FILES) <= names
        types = {e.findtext("p:eventType", namespaces=NS) for e in doc.iterfind("p:event", NS)}
        assert {"ingestion", "format identification", "validation"} <= types


def test_premis_follows_the_aip_role_rules(rt, client, make_token):
    from preserve.catalog.models import Role

    aip_id = ingest(rt, client, make_token())
    other = make_token("agency-b")
    auditor = make_token("audit-office", Role.AUDITOR)
    url = f"/v1/aips/{aip_id}/premis"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": f"Bearer {other}"}).status_code == 404
    assert client.get(url, headers={"Authorization": f"Bearer {auditor}"}).status_code == 200
    missing = "/v1/aips/00000000-0000-4000-8000-000000000000/premis"
    response = client.get(missing, headers={"Authorization": f"Bearer {auditor}"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
