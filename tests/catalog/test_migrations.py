"""The migrations make exactly the schema the models declare, and can be undone and redone."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from preserve.catalog.db import alembic_config, make_engine, upgrade
from preserve.catalog.models import Base
from preserve.catalog.search_index import SEARCH_OBJECTS


def _modelled(name, type_, parent_names) -> bool:
    """The search objects (FTS5 tables, pg_trgm indexes) are made by the migration only."""
    return name not in SEARCH_OBJECTS


def schema_diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": _modelled})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - SEARCH_OBJECTS
    finally:
        engine.dispose()


def test_upgrade_on_an_empty_database_yields_the_models_schema(database_url):
    assert table_names(database_url) == set()
    missing = {d[1].name for d in schema_diff(database_url) if d[0] == "add_table"}
    assert missing == set(Base.metadata.tables), "the comparison must see an empty schema"

    upgrade(database_url)

    assert table_names(database_url) == set(Base.metadata.tables) | {"alembic_version"}
    assert schema_diff(database_url) == []


def test_downgrade_to_base_then_upgrade_again(database_url):
    upgrade(database_url)
    command.downgrade(alembic_config(database_url), "base")

    assert table_names(database_url) <= {"alembic_version"}

    upgrade(database_url)

    assert schema_diff(database_url) == []
    upgrade(database_url)  # already at head: a no-op, not an error
    assert schema_diff(database_url) == []
