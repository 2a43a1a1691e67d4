"""The migrations make exactly the schema the models declare, and can be undone and redone."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

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


def test_replicas_made_before_0013_get_their_aips_sizes(database_url):
    """0013 copies each AIP's file count and bytes onto its replicas, so holdings per target
    (read from the replicas alone) count what was stored before the upgrade too."""
    command.upgrade(alembic_config(database_url), "0012")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(_OLD_AIP["agency"]))
            conn.execute(text(_OLD_AIP["sip"]))
            conn.execute(text(_OLD_AIP["aip"]))
            conn.execute(text(_OLD_AIP["replicas"]))
        upgrade(database_url)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT target, file_count, total_bytes FROM replicas ORDER BY target")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("a", 3, 5_000_000_000), ("b", 3, 5_000_000_000)]


_OLD_AIP = {
    "agency": "INSERT INTO agencies (id, name, created_at) VALUES (1, 'ag', '2026-01-01')",
    "sip": "INSERT INTO sips (id, agency_id, state, storage_profile, record_metadata, manifest, "
    "reasons, file_count, total_bytes, received_at, updated_at, source, check_report) "
    "VALUES ('s', 1, "
    "'PRESERVED', 'local', '{}', '[]', '[]', 3, 5000000000, '2026-01-01', '2026-01-01', 'x', '[]')",
    "aip": "INSERT INTO aips (id, sip_id, agency_id, storage_profile, title, archival_code, "
    "record_metadata, file_count, total_bytes, signing_key_id, tagmanifest_sha256, created_at) "
    "VALUES ('p', 's', 1, 'local', 't', 'c', '{}', 3, 5000000000, 'k', 'h', '2026-01-01')",
    "replicas": "INSERT INTO replicas (aip_id, target, state) VALUES ('p', 'a', 'verified'), "
    "('p', 'b', 'pending')",
}
