"""The last reconcile of each target on the ops storage page, in-process (both databases): a
clean one, one that found a missing copy (and queued it again), and one that failed; kept as
files of mode 0600 beside the catalogue, and shown only to ops staff."""

from __future__ import annotations

import stat

import pytest

from preserve.catalog.models import Role
from preserve.cli.storage import reconcile
from preserve.errors import ConfigurationError
from preserve.storage.reconcile import last_reconciles
from support.console_forms import as_
from support.ingest import ingest
from support.records import MINIMAL_PDF


def test_storage_page_shows_the_last_reconcile(rt, client, make_token, tmp_path):
    as_(client, make_token("archive", Role.OPS))
    assert "尚未运行核对" in client.get("/console/ops/storage").text
    aip = ingest(rt, client, make_token, {"a.pdf": MINIMAL_PDF})
    payload = next(p for p in (tmp_path / "stores" / "site-b-nas").rglob("a.pdf") if aip in str(p))
    payload.unlink()
    reconcile(rt, "site-a-disk")
    found = reconcile(rt, "site-b-nas")
    assert [m.aip_id for m in found.missing] == [aip]
    with pytest.raises(ConfigurationError):
        reconcile(rt, "no-such-target")

    kept = {r["target"]: r for r in last_reconciles(rt.settings.resolved_data_dir)}
    assert {t: r["outcome"] for t, r in kept.items()} == {
        "site-a-disk": "clean",
        "site-b-nas": "found",
        "no-such-target": "failed",
    }
    folder = rt.settings.resolved_data_dir / "reports" / "reconcile"
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())

    as_(client, make_token("archive", Role.OPS))
    html = client.get("/console/ops/storage").text
    table = html.split('id="reconciles"', 1)[1].split("</table>", 1)[0]
    assert "未发现问题" in table and "发现问题" in table and "失败" in table
    assert aip[:8] in table and "已重新排队: 1" in table
    assert "no storage profile in use has a target" in table
    english = client.get("/console/ops/storage", headers={"Accept-Language": "en"}).text
    assert "Last reconcile" in english and "problems found" in english


@pytest.mark.parametrize("role", [Role.SUBMITTER, Role.OFFICER, Role.AUDITOR, Role.SECURITY])
def test_reconcile_is_for_ops_staff(client, make_token, role):
    as_(client, make_token("archive", role))
    assert client.get("/console/ops/storage").status_code == 403
