"""三员分立: system administrator, security officer and auditor hold separate duties, and every
administrative action is an event in the hash chain."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from preserve.catalog.models import Event, Role
from preserve.errors import Forbidden
from preserve.trust.duties import ACTION_DUTY, ROLE_DUTY, Action, Duty, authorize


def test_each_duty_has_one_role_and_no_role_two_duties():
    assert sorted(ROLE_DUTY.values()) == sorted(Duty)
    assert ROLE_DUTY == {
        Role.ADMIN: Duty.SYSTEM_ADMINISTRATOR,
        Role.SECURITY: Duty.SECURITY_OFFICER,
        Role.AUDITOR: Duty.AUDITOR,
    }
    assert set(ACTION_DUTY) == set(Action)


@pytest.mark.parametrize("action", list(Action))
def test_only_the_duty_holder_may_act(action):
    holders = [role for role in Role if ROLE_DUTY.get(role) == ACTION_DUTY[action]]
    assert len(holders) == 1
    assert authorize(holders[0], action) == ACTION_DUTY[action]
    for role in Role:
        if role != holders[0]:
            with pytest.raises(Forbidden, match=action.value):
                authorize(role, action)


def test_only_the_auditor_reads_and_verifies_the_log_over_the_api(rt, client, make_token):
    tokens = {role: make_token(f"org-{role.value}", role) for role in Role}
    for role, token in tokens.items():
        headers = {"Authorization": f"Bearer {token}"}
        events = client.get("/v1/log/events", headers=headers)
        verification = client.get("/v1/log/verification", headers=headers)
        want = 200 if role == Role.AUDITOR else 403
        assert (events.status_code, verification.status_code) == (want, want), role

    headers = {"Authorization": f"Bearer {tokens[Role.AUDITOR]}"}
    report = client.get("/v1/log/verification", headers=headers).json()
    assert report["ok"] is True and report["first_bad_entry"] is None
    entries = client.get("/v1/log/events", headers=headers).json()
    assert [e["type"] for e in entries] == ["log verification"] * 2
    assert [e["seq"] for e in entries] == [1, 2]
    assert entries[1]["prev_hash"] == entries[0]["entry_hash"]
    assert client.get("/v1/log/events?after=1", headers=headers).json() == entries[1:]


def test_issuing_a_token_on_the_command_line_is_a_chained_event(tmp_path, database_url):
    from support.profiles import write_profile
    from support.server import cli_env, run_cli

    write_profile(tmp_path / "profiles", tmp_path / "stores")
    env = cli_env(tmp_path / "var", database_url, tmp_path / "profiles")
    assert run_cli(env, "db", "upgrade").returncode == 0
    issued = run_cli(env, "tokens", "create", "--agency", "audit-office", "--role", "auditor")
    assert issued.returncode == 0, issued.stderr
    plaintext = issued.stdout.strip().splitlines()[-1]
    verified = run_cli(env, "verify", "log", "--format", "json")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    from preserve.catalog.db import make_engine, make_sessionmaker

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            events = session.scalars(select(Event).order_by(Event.seq)).all()
    finally:
        engine.dispose()
    assert [(e.seq, e.type) for e in events] == [(1, "token issued"), (2, "log verification")]
    assert plaintext not in events[0].detail
    assert events[1].agent.endswith("as auditor")
