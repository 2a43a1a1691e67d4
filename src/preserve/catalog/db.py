"""Engines, sessions and schema upgrades.

The unit of work belongs to the edge (docs/architecture.md): a request dependency, a job
runner or a CLI command opens the transaction from the runtime's session factory, and it
commits or rolls back; services never commit.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from preserve.errors import ConfigurationError

# The migrations ship inside the package (``preserve/_shipped/migrations`` links to the
# repository's top-level ``migrations/``; a wheel carries the files themselves).
MIGRATIONS_DIR = Path(str(files("preserve._shipped") / "migrations"))


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def make_readonly_engine(url: str) -> Engine:
    """An engine that cannot write: SQLite's ``query_only`` (and a deferred BEGIN, so readers
    never take the write lock), PostgreSQL's ``default_transaction_read_only``. The public face
    reads through one of these; give it a read-only role as well where the database has one."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_readonly)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        connect_args={"options": "-c default_transaction_read_only=on"},
    )


def _sqlite_readonly(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA query_only=ON")
    cur.close()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


READS_ONLY = "preserve_reads_only"
"""Execution option of the engine behind :func:`make_read_sessionmaker`."""


def _sqlite_begin_immediate(conn) -> None:
    """Take SQLite's write lock at BEGIN, so two processes never deadlock upgrading a read lock;
    a unit of work that only reads (:func:`make_read_sessionmaker`) begins deferred and, in WAL
    mode, runs beside the writer instead of queueing for its lock."""
    if conn.get_execution_options().get(READS_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(engine, expire_on_commit=False)
    event.listen(factory, "after_commit", _run_after_commit)
    event.listen(factory, "after_rollback", _drop_after_commit)
    return factory


def make_read_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions for units of work that only read (a token lookup, a placement), on the same
    connections as ``engine``. On SQLite they do not take the write lock, so they never wait
    for a writer nor make one wait; a write in one fails (SQLITE_BUSY) rather than queue."""
    return sessionmaker(engine.execution_options(**{READS_ONLY: True}), expire_on_commit=False)


def after_commit(session: Session, action) -> None:
    """Run ``action`` (a file-system side effect) only once ``session`` has committed."""
    session.info.setdefault("after_commit", []).append(action)


def _run_after_commit(session: Session) -> None:
    for action in session.info.pop("after_commit", []):
        action()


def _drop_after_commit(session: Session) -> None:
    session.info.pop("after_commit", None)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def is_empty(engine: Engine) -> bool:
    return not inspect(engine).get_table_names()


def archive_exists(url: str) -> bool:
    """Whether the catalogue at ``url`` is there with a schema, without creating anything
    (connecting to a SQLite path that does not exist would create the file)."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if not database or database == ":memory:" or not Path(database).is_file():
            return False
    engine = make_engine(url)
    try:
        return not is_empty(engine)
    finally:
        engine.dispose()


def ensure_database(url: str) -> None:
    """An existing embedded SQLite catalogue is brought to the newest schema; any other must
    have been upgraded with ``preserve db upgrade``."""
    if url.startswith("sqlite"):
        upgrade(url)
        return
    if not archive_exists(url):
        raise ConfigurationError("the database has no schema; run 'preserve db upgrade' first")
