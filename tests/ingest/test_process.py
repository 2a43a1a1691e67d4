"""The worker stage end to end through the API, with identification in process
(``identify_workers=1``, what the other tests pin) and through the real process pool that
production runs by default (``identify_workers=2``): both reach the same answers."""

from __future__ import annotations

from inspect_samples import SAMPLES

from preserve.jobs.worker import drain
from support.http import auth
from support.records import MINIMAL_PDF, form, metadata

SAFE = {name: data for name, data in SAMPLES.items() if not name.startswith("locked")}


def _ingest(rt, client, token: str, files: dict[str, bytes], workers: int, code: str) -> dict:
    rt.settings.identify_workers = workers
    meta = metadata(archival_code=code)
    response = client.post("/v1/sips", **form(files, meta, headers=auth(token)))
    assert response.status_code == 202, response.text
    drain(rt)
    return client.get(f"/v1/sips/{response.json()['id']}", headers=auth(token)).json()


def _formats(client, token: str, aip_id: str) -> dict[str, tuple]:
    aip = client.get(f"/v1/aips/{aip_id}", headers=auth(token)).json()
    return {f["path"]: (f["puid"], f["format_name"], f["format_method"]) for f in aip["files"]}


def _checks(sip: dict) -> list[tuple[str, str, str]]:
    """The report without check 1-8, whose detail names the AIP already holding the code, and
    with the SIP's own id taken out of the details (a staged file's path names it)."""
    return [
        (c["code"], c["outcome"], c["detail"].replace(sip["id"], "<sip>"))
        for c in sip["checks"]
        if c["code"] != "1-8"
    ]


def test_an_accepted_sip_is_identified_alike_in_process_and_in_the_pool(rt, client, make_token):
    token = make_token()
    files = {f"{n}/{name}": data for n in range(2) for name, data in SAFE.items()}
    assert len(files) > 8  # fewer are inspected in process whatever the setting
    one = _ingest(rt, client, token, files, 1, "A001-WS-2024-Y-0101")
    two = _ingest(rt, client, token, files, 2, "A001-WS-2024-Y-0102")
    assert one["state"] == two["state"] == "PRESERVED"
    assert _checks(one) == _checks(two)
    formats = _formats(client, token, one["aip_id"])
    assert formats == _formats(client, token, two["aip_id"])
    assert formats["0/notice.pdf"][0].startswith("fmt/")


def test_a_rejected_sip_is_rejected_alike_in_process_and_in_the_pool(rt, client, make_token):
    token = make_token()
    files = {f"{n}/{name}": data for n in range(2) for name, data in SAMPLES.items()}
    files["cover.pdf"] = MINIMAL_PDF
    one = _ingest(rt, client, token, files, 1, "A001-WS-2024-Y-0201")
    two = _ingest(rt, client, token, files, 2, "A001-WS-2024-Y-0202")
    assert one["state"] == two["state"] == "REJECTED"
    assert _checks(one) == _checks(two)
    failed = [c for c in _checks(two) if c[1] == "fail"]
    assert {c[0] for c in failed} == {"3-8"}
    assert all("locked" in c[2] for c in failed)
