"""Shared fixtures: a real database (SQLite and PostgreSQL), real files, a real runtime.

Every test that takes ``rt`` runs twice: on SQLite (the embedded default) and on PostgreSQL
(what production uses). PostgreSQL comes from ``PRESERVE_TEST_DATABASE_URL``; unset, those
cases are skipped with that reason. Each test session gets its own PostgreSQL database, and
each test an empty schema brought to head by the real migrations.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from preserve.catalog.db import upgrade
from preserve.catalog.models import Role
from preserve.runtime import Runtime
from preserve.settings import Settings
from preserve.trust.tokens import create_token
from support.databases import PG_ENV, throwaway_database
from support.profiles import write_profile


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    """A throwaway database on the server named by PRESERVE_TEST_DATABASE_URL."""
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        yield None
        return
    with throwaway_database(admin_url, "preserve_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path, postgres_database: str | None) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalogue.db'}"
    if postgres_database is None:
        pytest.skip(f"{PG_ENV} not set: PostgreSQL cases skipped")
    engine = create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return postgres_database


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    profiles = tmp_path / "profiles"
    write_profile(profiles, tmp_path / "stores")
    return Settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        profiles_dir=profiles,
        storage_profile="local",
        identify_workers=1,
        _env_file=None,
    )


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.sqlalchemy_url)
    runtime = Runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def make_token(rt: Runtime):
    def make(agency: str = "agency-a", role: Role = Role.SUBMITTER) -> str:
        with rt.sessions.begin() as session:
            return create_token(session, agency, role)[1]

    return make


@pytest.fixture
def client(rt: Runtime):
    from fastapi.testclient import TestClient

    from preserve.api.app import create_app

    with TestClient(create_app(rt)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def moto():
    """moto's S3 server on a loopback port, one per test module that asks for it."""
    from support.moto_server import MotoServer

    with MotoServer() as server:
        yield server


@pytest.fixture
def served(tmp_path: Path, database_url: str):
    """A real ``preserve serve`` on this test's database, with a submitter token:
    ``(server, env, token, tmp_path)``."""
    from support.server import Server, cli_env, run_cli

    write_profile(tmp_path / "profiles", tmp_path / "stores")
    env = cli_env(tmp_path / "var", database_url, tmp_path / "profiles")
    server = Server(env, tmp_path)
    try:
        made = run_cli(env, "tokens", "create", "--agency", "records-office", "--role", "submitter")
        assert made.returncode == 0, made.stderr
        yield server, env, made.stdout.strip().splitlines()[-1], tmp_path
    finally:
        server.stop()
