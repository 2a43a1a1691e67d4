"""A misspelt ``--target``, ``--aip`` or ``--agency`` is an error (exit 2 naming it), never a
clean, empty result."""

from __future__ import annotations

import pytest

from support.cli import preserve
from support.holdings import add_record


@pytest.fixture
def seeded(rt):
    with rt.sessions.begin() as session:
        return add_record(session, n=1).id


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (("stats", "--agency", "nosuch"), "agency named 'nosuch'"),
        (("aips", "list", "--agency", "nosuch"), "agency named 'nosuch'"),
        (("sips", "list", "--agency", "nosuch"), "agency named 'nosuch'"),
        (("aips", "list", "--target", "nosuch"), "target named 'nosuch'"),
        (("drill", "--target", "nosuch"), "target named 'nosuch'"),
        (("storage", "reconcile", "nosuch"), "target named 'nosuch'"),
        (("validate", "--all", "--target", "nosuch"), "target named 'nosuch'"),
        (("restore", "x", "--to", "out", "--from", "nosuch"), "target named 'nosuch'"),
    ],
)
def test_an_unknown_name_exits_2_and_names_it(rt, settings, seeded, args, name):
    done = preserve(settings, *args)

    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no ") and name in lines[0]
    assert done.stdout == ""


def test_known_names_still_work(rt, settings, seeded):
    assert preserve(settings, "stats", "--agency", "agency-a").returncode == 0
    listed = preserve(settings, "aips", "list", "--target", "site-a-disk", "--format", "csv")
    assert listed.returncode == 0 and seeded in listed.stdout
