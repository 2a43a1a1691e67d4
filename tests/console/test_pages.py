"""The console over the app in-process (both databases): sign-in, session, CSRF, roles, pages.
The real browser tests are in test_browser.py."""

from __future__ import annotations

import re

import pytest

from preserve.api.console import nav
from preserve.catalog.models import Role
from support.console_forms import csrf, sign_in

PAGES = [item.path for item in nav.for_role(Role.ADMIN)] + [
    "/console/audit/log",
    "/console/security/tokens",
    "/console/security/keys",
]


def test_login_form_and_bad_token(client):
    form = client.get("/console/login")
    assert form.status_code == 200
    assert 'name="token"' in form.text
    bad = sign_in(client, "pv_not-a-real-token")
    assert bad.status_code == 401
    assert "令牌无效" in bad.text
    assert "pv_not-a-real-token" not in bad.text
    assert "console_session" not in bad.headers.get("set-cookie", "")
    assert sign_in(client, "").status_code == 400
    assert sign_in(client, "x" * 5000).status_code == 400


def test_session_cookie_flags_and_logout(client, make_token):
    token = make_token("agency-a", Role.OFFICER)
    answer = sign_in(client, token)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain http in the test; https sets it
    assert token not in cookie
    home = client.get("/console/")
    assert home.status_code == 200
    assert token not in home.text
    # a POST without the session's CSRF token is refused, and the session stays
    assert client.post("/console/logout", data={}).status_code == 403
    assert client.get("/console/").status_code == 200
    out = client.post(
        "/console/logout", data={"csrf_token": csrf(home.text)}, follow_redirects=False
    )
    assert out.status_code == 303
    client.cookies.clear()
    client.cookies.set("console_session", cookie.split(";")[0].split("=", 1)[1], path="/console")
    again = client.get("/console/", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == "/console/login"


def test_cross_site_post_is_refused(client, make_token):
    sign_in(client, make_token("agency-a", Role.OFFICER))
    token = csrf(client.get("/console/").text)
    hostile = client.post(
        "/console/logout",
        data={"csrf_token": token},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert hostile.status_code == 403
    assert client.get("/console/").status_code == 200
    cross = {"Sec-Fetch-Site": "cross-site"}
    assert client.post("/console/login", data={"token": "x"}, headers=cross).status_code == 403


@pytest.mark.parametrize(
    "role",
    list(Role),
)
def test_each_role_sees_exactly_its_pages(client, make_token, role):
    sign_in(client, make_token("agency-a", role))
    mine = {item.path for item in nav.for_role(role)}
    home = client.get("/console/").text
    for path in sorted(set(PAGES)):
        answer = client.get(path, follow_redirects=False)
        if path in mine:
            assert answer.status_code == 200, (role, path, answer.text[:500])
            assert f'href="{path}"' in home
        else:
            assert answer.status_code == 403, (role, path)
            assert f'href="{path}"' not in home


def test_language_switch_and_accept_language(client, make_token):
    sign_in(client, make_token("agency-a", Role.OFFICER))
    assert "总览" in client.get("/console/dashboard").text
    english = client.get("/console/dashboard", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Dashboard" in english.text
    assert "总览" not in english.text
    switched = client.get("/console/lang/en?next=//evil.example/", follow_redirects=False)
    assert switched.headers["location"] == "/console/"
    assert "Dashboard" in client.get("/console/dashboard").text


def test_unknown_aip_is_a_404_page(client, make_token):
    sign_in(client, make_token("agency-a", Role.OFFICER))
    answer = client.get("/console/aips/00000000-0000-0000-0000-000000000000")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert client.get("/console/reports/fixity?from=2026-02-01&to=2026-01-01").status_code == 422


def test_signed_out_pages_redirect_to_login(client):
    for path in PAGES:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/login"


def test_docs_pages_reference_no_external_url(client):
    for path in ("/docs", "/redoc"):
        html = client.get(path).text
        assert "http://" not in html and "https://" not in html, path
        assert "fonts.googleapis" not in html
    assert client.get("/docs/assets/swagger/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/assets/redoc/redoc.standalone.js").status_code == 200
    assert "cdn.redoc.ly" not in client.get("/docs/assets/redoc/redoc.standalone.js").text


def test_every_label_has_its_chinese():
    """Every message id in the templates and the navigation is in the Chinese catalog."""
    from importlib.resources import files

    from preserve.api.console import i18n

    zh = i18n.translations("zh")
    root = files("preserve.api.console") / "templates"
    ids = {item.label for role in Role for item in nav.for_role(role)}
    for template in root.iterdir():
        ids |= set(re.findall(r"""_\(["']([^"']+)["']\)""", template.read_text("utf-8")))
    missing = sorted(i for i in ids if zh.gettext(i) == i and i not in {"PREMIS XML", "SHA-256"})
    assert not missing, missing
