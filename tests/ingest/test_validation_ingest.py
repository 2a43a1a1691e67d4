"""Check 3-4 end to end: through the API and the worker into the report, ``checks.json``, the
PREMIS events and the API; a profile that only warns; and ``preserve validate`` over the stored
AIP (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import validation_files as make
from sqlalchemy import select
from typer.testing import CliRunner

from preserve.catalog.events import EventType
from preserve.catalog.models import Event
from preserve.cli.main import app
from preserve.jobs.worker import drain
from support.http import auth
from support.records import form, metadata

GOOD = {
    "通知.pdf": make.pdf(),
    "公文.ofd": make.ofd(),
    "说明.txt": make.TEXT.encode("gb18030"),
    "扫描.png": make.image("PNG"),
}


@pytest.fixture
def token(make_token) -> str:
    return make_token()


def push(rt, client, token, files: dict[str, bytes], code: str = "A001-WS-2024-Y-0001") -> dict:
    response = client.post(
        "/v1/sips", **form(files, metadata(archival_code=code), headers=auth(token))
    )
    assert response.status_code == 202, response.text
    drain(rt)
    return client.get(f"/v1/sips/{response.json()['id']}", headers=auth(token)).json()


def checks_34(sip: dict) -> list[dict]:
    return [c for c in sip["checks"] if c["code"] == "3-4"]


def stored_bag(rt, aip_id: str) -> Path:
    return next(Path(rt.profile().targets[0].root).rglob(aip_id))


def aip_files(client, token, aip_id: str) -> dict[str, dict]:
    """The AIP's files as the API lists them, by path (each with its check 3-4 outcome)."""
    aip = client.get(f"/v1/aips/{aip_id}", headers=auth(token)).json()
    return {f["path"]: f for f in aip["files"]}


def test_files_that_open_are_preserved_with_each_validation_on_record(rt, client, token):
    sip = push(rt, client, token, GOOD)
    assert sip["state"] == "PRESERVED", sip
    assert [c["outcome"] for c in checks_34(sip)] == ["pass"], sip["checks"]
    report = json.loads((stored_bag(rt, sip["aip_id"]) / "metadata" / "checks.json").read_text())
    by_path = {v["path"]: v for v in report["validation"]}
    assert {p: v["family"] for p, v in by_path.items()} == {
        "通知.pdf": "pdf",
        "公文.ofd": "ofd",
        "说明.txt": "text",
        "扫描.png": "image",
    }
    assert all(v["outcome"] == "pass" for v in by_path.values()), by_path
    assert "GB18030" in by_path["说明.txt"]["detail"]
    with rt.sessions.begin() as session:
        agents = set(
            session.scalars(
                select(Event.agent).where(
                    Event.type == EventType.VALIDATION, Event.object_id == sip["id"]
                )
            )
        )
    assert any(a.startswith("pikepdf ") for a in agents) and any("Pillow" in a for a in agents)
    premis = (stored_bag(rt, sip["aip_id"]) / "metadata" / "premis.xml").read_text()
    assert "pikepdf" in premis
    files = aip_files(client, token, sip["aip_id"])
    assert {p: f["validation"] for p, f in files.items()} == dict.fromkeys(by_path, "pass")
    assert files["说明.txt"]["validation_detail"] == by_path["说明.txt"]["detail"]


@pytest.mark.parametrize(
    ("name", "data", "names"),
    [
        ("截断.pdf", make.truncated(make.pdf()), "截断.pdf"),
        ("缺页.ofd", make.ofd(drop="Doc_0/Pages/Page_1/Content.xml"), "Page_1"),
        ("炸弹.png", make.png_bomb(), "decompression bomb"),
    ],
)
def test_a_file_that_does_not_open_rejects_the_sip(rt, client, token, name, data, names):
    sip = push(rt, client, token, {"好.pdf": make.pdf(), name: data})
    assert sip["state"] == "REJECTED", sip
    failed = [c for c in checks_34(sip) if c["outcome"] == "fail"]
    assert len(failed) == 1 and names in failed[0]["detail"], sip["checks"]
    assert any(r.startswith("3-4") for r in sip["reasons"])


def test_text_that_does_not_decode_only_warns_by_default(rt, client, token):
    bad = b"\xef\xbb\xbf" + make.TEXT.encode("gb18030")
    sip = push(rt, client, token, {"通知.pdf": make.pdf(), "说明.txt": bad})
    assert sip["state"] == "PRESERVED", sip
    warned = [c for c in checks_34(sip) if c["outcome"] == "warn"]
    assert warned and "说明.txt" in warned[0]["detail"] and "offset 3" in warned[0]["detail"]
    files = aip_files(client, token, sip["aip_id"])
    assert files["说明.txt"]["validation"] == "fail"
    assert "GB18030" in files["说明.txt"]["validation_detail"]


def test_an_agency_profile_can_make_a_pdf_failure_a_warning(rt, client, token):
    folder = rt.settings.profiles_dir / "ingest"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "agency-a.json").write_text(
        json.dumps({"validation": {"on_failure": {"pdf": "warn"}}}), encoding="utf-8"
    )
    sip = push(rt, client, token, {"截断.pdf": make.truncated(make.pdf())})
    assert sip["state"] == "PRESERVED", sip
    assert {c["outcome"] for c in checks_34(sip)} == {"warn"}


def test_preserve_validate_rereads_the_stored_aip_and_changes_nothing(
    rt, client, token, settings, monkeypatch
):
    sip = push(rt, client, token, GOOD)
    bag = stored_bag(rt, sip["aip_id"])
    before = sorted((p.relative_to(bag), p.read_bytes()) for p in bag.rglob("*") if p.is_file())
    for name in ("data_dir", "database_url", "profiles_dir", "storage_profile"):
        monkeypatch.setenv(f"PRESERVE_{name.upper()}", str(getattr(settings, name)))
    monkeypatch.setenv("PRESERVE_IDENTIFY_WORKERS", "1")
    runner = CliRunner()
    result = runner.invoke(app, ["validate", sip["aip_id"], "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["path"]: r["outcome"] for r in rows} == dict.fromkeys(GOOD, "pass")
    after = sorted((p.relative_to(bag), p.read_bytes()) for p in bag.rglob("*") if p.is_file())
    assert after == before
    assert not list(rt.settings.staging_dir.glob("validate-*"))
    # a file damaged in every store is found by the next run, which exits 1
    for target in rt.profile().targets:
        copy = next(Path(target.root).rglob(sip["aip_id"])) / "data" / "通知.pdf"
        copy.write_bytes(make.truncated(copy.read_bytes()))
    result = runner.invoke(app, ["validate", "--all", "--format", "csv"])
    assert result.exit_code == 1, result.output
    assert "通知.pdf" in result.output and ",fail," in result.output
