"""The console's forms as an in-process test reads them: sign in, the CSRF token, a state."""

from __future__ import annotations

import re


def sign_in(client, token: str):
    """POST the sign-in form (the answer, for tests of refused tokens)."""
    return client.post("/console/login", data={"token": token}, follow_redirects=False)


def as_(client, token: str) -> None:
    """Signed in afresh with ``token`` (any earlier session's cookie dropped)."""
    client.cookies.clear()
    answer = sign_in(client, token)
    assert answer.status_code == 303, answer.text


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found, "no csrf_token in the page"
    return found.group(1)


def state_of(html: str) -> str:
    found = re.search(r'<dd id="state">([^<]*)</dd>', html)
    assert found, html[:500]
    return found.group(1)


def script_headers(html: str, **more: str) -> dict[str, str]:
    """The headers the console's own scripts send: the session's CSRF token, and ``more``
    (``Upload_Offset="0"`` → ``Upload-Offset: 0``)."""
    return {"X-CSRF-Token": csrf(html), **{k.replace("_", "-"): v for k, v in more.items()}}
