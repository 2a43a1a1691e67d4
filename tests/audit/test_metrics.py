"""/metrics: Prometheus text, no token, counts only (never a record's name or id)."""

from __future__ import annotations

import re

from audit_support import BAD, GOOD, ingest, make_due, replica_dir, scheduled_round
from test_repair import flip_byte

SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="[^"\\]*",?)*\})? -?\d+(\.\d+)?(e[+-]?\d+)?$')


def parse(text: str) -> dict[str, float]:
    values = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) preserve_[a-z_]+ ", line), line
            continue
        assert SAMPLE.match(line), line
        name, value = line.rsplit(" ", 1)
        values[name] = float(value)
    return values


def test_metrics_need_no_token_and_start_at_zero(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    values = parse(response.text)
    assert values["preserve_replication_backlog"] == 0
    assert "# TYPE preserve_fixity_checks_total counter" in response.text


def test_metrics_count_audits_failures_repairs_and_never_name_a_record(rt, client, make_token):
    aip_id = ingest(rt, client, make_token, files={"秘密/名单.txt": b"name list\n"})
    flip_byte_in = replica_dir(rt, aip_id, BAD) / "data" / "秘密" / "名单.txt"
    flip_byte_in.write_bytes(b"name lisT\n")
    make_due(rt, aip_id)
    scheduled_round(rt)

    text = client.get("/metrics").text
    values = parse(text)
    # the good replica: its own check, and again when it was chosen as the repair source
    assert values[f'preserve_fixity_checks_total{{target="{GOOD}"}}'] == 2
    assert values[f'preserve_fixity_checks_total{{target="{BAD}"}}'] == 2  # found, then verified
    assert values[f'preserve_fixity_failures_total{{outcome="mismatch",target="{BAD}"}}'] == 1
    assert values[f'preserve_fixity_repairs_total{{target="{BAD}"}}'] == 1
    assert values[f'preserve_fixity_bytes_read_total{{target="{BAD}"}}'] > 20
    assert values.get(f'preserve_fixity_failures_open{{target="{BAD}"}}', 0) == 0
    assert values[f'preserve_replicas{{state="verified",target="{BAD}"}}'] == 1
    assert values.get(f'preserve_replicas_overdue{{target="{BAD}"}}', 0) == 0
    for secret in (aip_id, "秘密", "名单", "关于2024年", "A001-WS-2024-Y-0001", "agency-a"):
        assert secret not in text


def test_overdue_and_alerts_show_in_metrics(rt, client, make_token):
    aip_id = ingest(rt, client, make_token)
    for target in (GOOD, BAD):
        flip_byte(replica_dir(rt, aip_id, target))
    make_due(rt, aip_id)
    scheduled_round(rt)
    values = parse(client.get("/metrics").text)
    assert values['preserve_alerts_total{severity="critical"}'] >= 1
    assert values[f'preserve_fixity_failures_open{{target="{GOOD}"}}'] >= 1

    from datetime import timedelta

    from sqlalchemy import update

    from preserve.catalog.models import Replica
    from preserve.catalog.types import utcnow

    with rt.sessions.begin() as session:
        session.execute(update(Replica).values(audit_due_at=utcnow() - timedelta(days=3)))
    values = parse(client.get("/metrics").text)
    assert values[f'preserve_replicas_overdue{{target="{GOOD}"}}'] == 1


def test_every_configured_target_and_outcome_has_a_series_before_its_first_event(client):
    values = parse(client.get("/metrics").text)

    for target in (GOOD, BAD):
        assert values[f'preserve_fixity_checks_total{{target="{target}"}}'] == 0
        for outcome in ("mismatch", "missing", "unreadable", "signature-invalid"):
            series = f'preserve_fixity_failures_total{{outcome="{outcome}",target="{target}"}}'
            assert values[series] == 0
        assert values[f'preserve_replicas{{state="failed",target="{target}"}}'] == 0
        assert values[f'preserve_replicas_overdue{{target="{target}"}}'] == 0
    assert values['preserve_alerts_total{severity="critical"}'] == 0
