"""Console sessions (trust/sessions.py): only a digest is stored; idle and absolute expiry;
sign-out and a revoked token end them; the CSRF token is bound to the session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from preserve.catalog.models import ConsoleSession, Role
from preserve.errors import Unauthorized
from preserve.trust import sessions
from preserve.trust.tokens import create_token, revoke_token

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)


def _open(rt, role=Role.OFFICER):
    with rt.sessions.begin() as session:
        token, plaintext = create_token(session, "agency-a", role)
        session_id, _ = sessions.sign_in(session, plaintext, T0, ABSOLUTE)
        return token.id, session_id


def _live(rt, session_id, when):
    with rt.sessions.begin() as session:
        return sessions.current(session, session_id, when, IDLE) is not None


def test_only_the_digest_is_stored(rt):
    _, session_id = _open(rt)
    with rt.sessions.begin() as session:
        rows = session.scalars(select(ConsoleSession)).all()
    assert [r.id_hash for r in rows] == [sessions.digest(session_id)]
    assert session_id not in rows[0].id_hash


def test_idle_expiry_and_activity(rt):
    _, session_id = _open(rt)
    assert _live(rt, session_id, T0 + timedelta(minutes=29))
    assert _live(rt, session_id, T0 + timedelta(minutes=58))  # the idle clock restarted
    assert not _live(rt, session_id, T0 + timedelta(minutes=58) + IDLE)


def test_absolute_expiry_whatever_the_activity(rt):
    _, session_id = _open(rt)
    when = T0
    while when + timedelta(minutes=20) < T0 + ABSOLUTE:
        when += timedelta(minutes=20)
        assert _live(rt, session_id, when)
    assert not _live(rt, session_id, T0 + ABSOLUTE)


def test_sign_out_and_revocation_end_it(rt):
    _, first = _open(rt)
    with rt.sessions.begin() as session:
        assert sessions.sign_out(session, first, T0)
        assert not sessions.sign_out(session, first, T0)
    assert not _live(rt, first, T0)
    token_id, second = _open(rt)
    with rt.sessions.begin() as session:
        revoke_token(session, token_id, T0, "test")
    assert not _live(rt, second, T0)


@pytest.mark.parametrize("bad", ["", "x" * 101, "not-a-session", None])
def test_hostile_ids(rt, bad):
    assert not _live(rt, bad, T0)


def test_bad_tokens_are_refused_alike(rt):
    """An unknown and a revoked token get the same answer: nothing tells which exists."""
    with rt.sessions.begin() as session:
        token, plaintext = create_token(session, "agency-a", Role.OPS)
        revoke_token(session, token.id, T0, "test")
    answers = []
    for offered in ("pv_unknown", plaintext):
        with rt.sessions.begin() as session, pytest.raises(Unauthorized) as caught:
            sessions.sign_in(session, offered, T0, ABSOLUTE)
        answers.append(str(caught.value))
    assert answers[0] == answers[1]


def test_csrf_is_bound_to_the_session(rt):
    _, one = _open(rt)
    _, two = _open(rt)
    assert sessions.csrf_ok(one, sessions.csrf_token(one))
    assert not sessions.csrf_ok(one, sessions.csrf_token(two))
    assert not sessions.csrf_ok(one, "")
    assert not sessions.csrf_ok(one, None)
