"""One home for the archive's state: every command finds it the same way, and only the
commands that may create an archive do."""

from __future__ import annotations

from pathlib import Path

import pytest

from preserve.runtime import Runtime
from preserve.settings import SHIPPED_PROFILES, Settings
from support.server import run_cli


def _env(tmp_path: Path) -> dict[str, str]:
    from support.server import cli_env

    env = cli_env(tmp_path / "data", "", SHIPPED_PROFILES)
    del env["PRESERVE_DATABASE_URL"]  # the embedded default: SQLite in the data directory
    return env


@pytest.mark.parametrize(
    "command",
    [
        ("audit", "status"),
        ("report", "fixity"),
        ("storage", "status"),
        ("restore", "0b7e4b4e-0000-4000-8000-000000000000", "--to", "out"),
        ("tokens", "create", "--agency", "a", "--role", "submitter"),
    ],
)
def test_a_command_refuses_to_run_where_there_is_no_archive(tmp_path, command):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    done = run_cli(_env(tmp_path), *command, cwd=cwd)

    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no archive at ")
    assert str(tmp_path / "data") in lines[0]
    assert not (tmp_path / "data").exists()
    assert list(cwd.iterdir()) == []


def test_db_upgrade_creates_the_archive_in_its_data_directory_only(tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = _env(tmp_path)

    assert run_cli(env, "db", "upgrade", cwd=cwd).returncode == 0
    assert (tmp_path / "data" / "preserve.db").is_file()
    assert (tmp_path / "data").stat().st_mode & 0o077 == 0
    assert (tmp_path / "data" / "preserve.db").stat().st_mode & 0o077 == 0
    done = run_cli(env, "audit", "status", cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert list(cwd.iterdir()) == []


def test_relative_store_roots_resolve_against_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings(
        data_dir=tmp_path / "elsewhere", profiles_dir=SHIPPED_PROFILES, _env_file=None
    )
    rt = Runtime(settings)
    try:
        roots = [t.root for t in rt.profile().targets]
    finally:
        rt.close()
    assert roots == [
        str(tmp_path / "elsewhere" / "stores" / "site-a-disk"),
        str(tmp_path / "elsewhere" / "stores" / "site-b-nas"),
    ]


def test_the_default_data_directory_does_not_follow_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("PRESERVE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    assert Settings(_env_file=None).resolved_data_dir == tmp_path / "xdg" / "preserve"
