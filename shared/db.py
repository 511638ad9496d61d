"""SQLAlchemy engines: SQLite by default, PostgreSQL by URL.

SQLite write transactions start with BEGIN IMMEDIATE so that writers
serialise at the start of a transaction instead of failing at commit; that
is what makes read-then-write sequences (document numbers, the audit chain)
safe there. Reads go through `reading()`, which begins a plain deferred
transaction: in WAL mode it never waits for a writer, so a public lookup is
never queued behind an issue. On PostgreSQL the same sequences use row locks
or `lock()` below.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "zhifa_read_only"
# Well above the longest write transaction (a number, a DOCX, a row), so a
# writer that waits is never refused; nothing slow runs inside a transaction.
SQLITE_BUSY_TIMEOUT_SECONDS = 60


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _private_file(Path(path))
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # let us issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
            _enable_wal(cur)
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _private_file(path: Path) -> None:
    """The database holds personal data: 0600 from its creation (SQLite gives its -wal and -shm files
    the database file's mode), and an existing file made private."""
    try:
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if each.exists():
                os.chmod(each, 0o600)
    except OSError:   # a file this user does not own (a read-only copy): SQLite says what it can open
        pass


def _enable_wal(cursor) -> None:
    """Switching a new database file to WAL takes an exclusive lock without
    consulting the busy handler: processes starting together retry briefly."""
    for attempt in range(100):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.05)


def create_schema(engine: Engine, metadata) -> None:
    """Create missing tables: for scratch tables in tests. The services' own databases are made and
    changed by their migrations only (shared/migrate.py). Processes may start together, so
    on PostgreSQL the creation is serialised by an advisory lock (two
    concurrent CREATE TABLEs of the same name fail); SQLite's BEGIN IMMEDIATE
    serialises it already."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key("zhifa:create-schema")})
        metadata.create_all(conn)


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction per state change: commit on success, roll back on any error."""
    session = factory()
    try:
        with session.begin():
            yield session
    finally:
        session.close()


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads only: never takes SQLite's write lock."""
    session = factory()
    try:
        session.connection(execution_options={READ_ONLY: True})
        yield session
    finally:
        session.close()


def lock(session: Session, name: str) -> None:
    """Serialise a critical section across processes until the transaction ends.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: nothing to do, the
    transaction already holds the database's write lock (BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(name)})


def as_utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back naive; they were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
