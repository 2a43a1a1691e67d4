"""The dashboard's counts come from the scheduler's snapshot (issue 14), both databases: the
``audit.dashboard`` task counts them once a minute, the page shows the latest with its time, the
counts equal a live count once a new snapshot ran after a change, the page counts live (and
keeps the result) while there is no snapshot, an officer can ask for a recount, and /metrics
says how old the snapshot is."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from preserve.audit import queries
from preserve.audit.dashboard import Figures, Holding, figures, latest_figures, take_snapshot
from preserve.audit.render_html import local_time
from preserve.audit.targets import target_policies
from preserve.catalog.models import DashboardSnapshot, Replica, ReplicaState, Role
from preserve.catalog.types import utcnow
from preserve.jobs.scheduler import tick
from support.console_forms import as_, csrf
from support.holdings import add_record

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
BOTH = ("site-a-disk", "site-b-nas")
AGE = "preserve_dashboard_snapshot_age_seconds"


def _add(rt, first: int, count: int, targets=BOTH) -> list[str]:
    with rt.sessions.begin() as session:
        return [add_record(session, n=n, targets=targets).id for n in range(first, first + count)]


def _live(rt, now: datetime) -> Figures:
    grace = timedelta(hours=rt.settings.audit_overdue_grace_hours)
    with rt.sessions.begin() as session:
        policies = target_policies(session, rt.stores, rt.settings)
        return figures(session, rt.stores, policies, now, grace)


def _stored(rt) -> Figures | None:
    with rt.sessions.begin() as session:
        return latest_figures(session)


def _shown(html: str) -> dict[str, int]:
    found = {}
    for key in ("aips", "meeting", "not-meeting", "open-count"):
        value = re.search(rf'id="{key}">(\d+)<', html)
        assert value, (key, html[:500])
        found[key] = int(value.group(1))
    return found


def _as_of(html: str) -> str:
    found = re.search(r'id="as-of">([^<]*)<time datetime="[^"]+">([^<]+)<', html)
    assert found, html[:1000]
    return f"{found.group(1).strip()} {found.group(2)}"


def _officer(client, make_token) -> None:
    as_(client, make_token("agency-a", Role.OFFICER))


def test_the_scheduler_counts_every_minute_and_the_page_shows_the_latest(rt, client, make_token):
    assert "audit.dashboard" in tick(rt, T0)  # an empty archive: nothing to count yet
    _add(rt, 0, 3)
    _add(rt, 3, 1, targets=("site-a-disk",))  # one copy: the policy wants two sites
    _officer(client, make_token)
    zone = rt.settings.display_timezone

    page = client.get("/console/dashboard").text
    assert _shown(page)["aips"] == 0, "the page shows the snapshot, not a live count"
    assert _as_of(page) == f"统计截至 {local_time(T0, zone)}"
    assert "audit.dashboard" not in tick(rt, T0 + timedelta(seconds=30))

    later = T0 + timedelta(seconds=61)
    assert "audit.dashboard" in tick(rt, later)
    kept = _stored(rt)
    assert kept == _live(rt, later)
    a, b = Holding("site-a-disk", 4, 100 + 101 + 102 + 103), Holding("site-b-nas", 3, 303)
    assert kept.by_target == [a, b]
    assert kept.by_site == [Holding("site-a", a.copies, a.bytes), Holding("site-b", 3, 303)]
    assert kept.by_medium == [Holding("disk", a.copies, a.bytes), Holding("nas", 3, 303)]
    assert [(t.target, t.replicas, t.never_audited) for t in kept.coverage] == [
        ("site-a-disk", 4, 4),
        ("site-b-nas", 3, 3),
    ]
    page = client.get("/console/dashboard").text
    assert _shown(page) == {"aips": 4, "meeting": 3, "not-meeting": 1, "open-count": 0}
    assert _as_of(page) == f"统计截至 {local_time(later, zone)}"
    assert local_time(later, zone).endswith("UTC+08:00")  # the zone is named
    english = client.get("/console/dashboard", headers={"Accept-Language": "en"}).text
    assert _as_of(english) == f"Counts as of {local_time(later, zone)}"

    # changes: a copy fails its proof, a record arrives; the next snapshot counts them
    ids = _add(rt, 4, 1)
    with rt.sessions.begin() as session:
        replica = session.scalar(select(Replica).where(Replica.aip_id == ids[0]).limit(1))
        replica.state = ReplicaState.FAILED
    assert _shown(client.get("/console/dashboard").text)["aips"] == 4
    latest = later + timedelta(seconds=61)
    assert "audit.dashboard" in tick(rt, latest)
    counted = _live(rt, latest)
    assert _stored(rt) == counted
    assert (counted.aips, counted.meeting_policy, counted.not_meeting_policy) == (5, 3, 2)
    page = client.get("/console/dashboard").text
    assert _shown(page) == {"aips": 5, "meeting": 3, "not-meeting": 2, "open-count": 0}
    with rt.sessions.begin() as session:
        assert session.query(DashboardSnapshot).count() == 1, "older snapshots are dropped"


def test_without_a_snapshot_the_page_counts_live_and_keeps_the_count(rt, client, make_token):
    _add(rt, 0, 2)
    assert _stored(rt) is None
    _officer(client, make_token)

    page = client.get("/console/dashboard").text

    kept = _stored(rt)
    assert kept is not None
    assert kept == _live(rt, kept.taken_at)
    assert _shown(page) == {"aips": 2, "meeting": 2, "not-meeting": 0, "open-count": 0}
    assert _as_of(page) == f"统计截至 {local_time(kept.taken_at, rt.settings.display_timezone)}"
    client.get("/console/dashboard")
    assert _stored(rt) == kept, "the next view reads the kept count"


def test_a_snapshot_of_another_shape_is_counted_anew(rt, client, make_token):
    _add(rt, 0, 1)
    with rt.sessions.begin() as session:
        queries.save_snapshot(session, T0, {"written by": "another version"})
    _officer(client, make_token)
    assert _shown(client.get("/console/dashboard").text)["aips"] == 1
    assert _stored(rt) is not None and _stored(rt).taken_at > T0


def test_an_officer_asks_for_a_recount(rt, client, make_token):
    with rt.sessions.begin() as session:
        take_snapshot(session, rt.stores, rt.settings, T0)
    _add(rt, 0, 2)
    _officer(client, make_token)
    page = client.get("/console/dashboard").text
    assert _shown(page)["aips"] == 0
    assert client.post("/console/dashboard/refresh", data={}).status_code == 403  # no CSRF token

    answer = client.post(
        "/console/dashboard/refresh", data={"csrf_token": csrf(page)}, follow_redirects=False
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/dashboard"
    assert _shown(client.get("/console/dashboard").text)["aips"] == 2
    assert _stored(rt).taken_at > T0
    as_(client, make_token("agency-a", Role.SUBMITTER))
    token = csrf(client.get("/console/").text)
    refused = client.post("/console/dashboard/refresh", data={"csrf_token": token})
    assert refused.status_code == 403


def test_metrics_say_how_old_the_snapshot_is(rt, client):
    before = client.get("/metrics").text
    assert f"# TYPE {AGE} gauge" in before
    assert not re.search(rf"^{AGE} ", before, re.M), "no sample before the first snapshot"
    with rt.sessions.begin() as session:
        take_snapshot(session, rt.stores, rt.settings, utcnow() - timedelta(minutes=5))

    age = re.search(rf"^{AGE} ([0-9.]+)$", client.get("/metrics").text, re.M)

    assert age is not None
    assert 300 <= float(age.group(1)) < 86_400
