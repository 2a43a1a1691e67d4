"""Throwaway PostgreSQL databases for tests, made on the server PRESERVE_TEST_DATABASE_URL names."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ENV = "PRESERVE_TEST_DATABASE_URL"
"""Names the PostgreSQL server the tests make their throwaway databases on."""


@contextmanager
def throwaway_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database's URL; the database is dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
