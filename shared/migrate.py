"""Each service's database schema, by Alembic migrations (services/<service>/migrations/).

Policy at service start (`ensure`, called by each runtime):
- a database at head: nothing to do;
- an empty database (a fresh install): migrated to head, on either dialect;
- the embedded SQLite default, behind head or made by `create_all` before
  migrations existed: migrated (adopted first) on start, it has no operator;
- PostgreSQL behind head or unversioned: refused, with the command to run
  (`zhifa migrate <service>`, after a backup): a production schema changes
  in a deliberate step, not whenever some replica restarts;
- a database at a revision this code does not know (a newer release migrated
  it): refused on either dialect.

Every migration runs in one transaction under a lock (PostgreSQL: an advisory
lock; SQLite: BEGIN IMMEDIATE, shared.db), so processes starting together
migrate once and the others find the result. Each service records its
revision in its own version table (alembic_version_<service>).
"""
from __future__ import annotations

import importlib
import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection, Engine

from shared.config import SERVICES
from shared.db import READ_ONLY, _lock_key, make_engine

log = logging.getLogger("zhifa.migrate")
# Alembic says "Context impl ..." at INFO on every look; what changed is logged here once.
logging.getLogger("alembic").setLevel(logging.WARNING)


class SchemaError(Exception):
    """The database cannot be used as it is; the message says what to run."""


@dataclass(frozen=True)
class Status:
    service: str
    current: str | None      # the recorded revision; None when unversioned or empty
    head: str
    unversioned: bool        # the service's tables exist without a recorded revision (made by create_all)
    known: bool              # the current revision is one of this code's
    others: tuple[str, ...] = ()   # other services whose version table this database holds

    @property
    def empty(self) -> bool:
        return self.current is None and not self.unversioned

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def version_table(service: str) -> str:
    return f"alembic_version_{service}"


def models_metadata(service: str) -> MetaData:
    return importlib.import_module(f"services.{service}.models").Base.metadata


class Migrations:
    """One service's migration scripts; `location` only for tests that bring their own."""

    def __init__(self, service: str, location: Path | None = None, metadata: MetaData | None = None):
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
        self.service = service
        self.location = location or Path(importlib.import_module(f"services.{service}").__file__).parent / "migrations"
        self.metadata = metadata if metadata is not None else models_metadata(service)
        self.scripts = _scripts(self.config())

    def config(self, connection: Connection | None = None) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(self.location))
        cfg.attributes["service"] = self.service
        cfg.attributes["connection"] = connection
        cfg.attributes["metadata"] = self.metadata
        return cfg

    @property
    def head(self) -> str:
        return self.scripts.get_current_head()

    def initial_schema(self) -> MetaData:
        """The first revision's tables (frozen in its file): what `create_all` made before migrations."""
        base = self.scripts.get_revision(self.scripts.get_base())
        return base.module.schema()

    def status(self, conn: Connection) -> Status:
        context = MigrationContext.configure(conn, opts={"version_table": version_table(self.service)})
        current = context.get_current_revision()
        if current is not None:      # the everyday start: one query
            return Status(self.service, current, self.head, False, _known(self.scripts, current))
        tables = set(inspect(conn).get_table_names())
        unversioned = bool(tables) and bool(tables & (set(self.metadata.tables) | set(self.initial_schema().tables)))
        others = tuple(s for s in SERVICES if s != self.service and version_table(s) in tables)
        return Status(self.service, None, self.head, unversioned, True, others)

    def ensure(self, engine: Engine) -> Status:
        """At service start: the policy in the module's docstring."""
        with engine.connect().execution_options(**{READ_ONLY: True}) as conn:   # no SQLite write lock to look
            status = self.status(conn)
            conn.rollback()
        if status.up_to_date:
            return status
        self._refuse_unknown(status)
        if engine.dialect.name == "sqlite" or status.empty:
            self.upgrade(engine)
            return status
        what = ("was made before migrations (no alembic_version_%s table)" % self.service if status.unversioned
                else f"is at revision {status.current}")
        raise SchemaError(f"the {self.service} database {what}, this version needs {status.head}: "
                          f"back it up, then run `zhifa migrate {self.service}`")

    def upgrade(self, engine: Engine) -> tuple[Status, Status]:
        """`zhifa migrate`: adopt a database made by create_all, then upgrade to head. Idempotent."""
        sqlite = engine.dialect.name == "sqlite"
        with engine.connect() as conn:
            if sqlite:
                # SQLite alters a table by copying it (batch mode): dropping the old copy of a table
                # others refer to fails while foreign keys are enforced, and the pragma is ignored
                # inside a transaction. So off before it, checked before the commit, on again after.
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.begin():
                    if not sqlite:
                        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                     {"key": _lock_key(f"zhifa:migrate:{self.service}")})
                    before = self.status(conn)      # again under the lock: another process may have migrated
                    self._refuse_unknown(before)
                    if before.unversioned:
                        self._adopt(conn)
                    command.upgrade(self.config(conn), "head")
                    after = self.status(conn)
                    if sqlite and (broken := conn.exec_driver_sql("PRAGMA foreign_key_check").all()):
                        raise SchemaError(f"the {self.service} migrations to {after.current} leave rows whose "
                                          f"references point nowhere (table, row, referred table): {broken[:5]}")
            finally:
                if sqlite:
                    conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")
        if before.current != after.current:
            log.info("%s database migrated from %s to %s", self.service,
                     before.current or ("create_all's schema" if before.unversioned else "empty"), after.current)
        return before, after

    def _refuse_unknown(self, status: Status) -> None:
        if status.others:     # services share table names (audit_log, outbox): never one database for two
            raise SchemaError(f"the database given to the {self.service} service holds the "
                              f"{' and '.join(status.others)} service's tables: each service needs a database "
                              f"of its own (ZHIFA_{self.service.upper()}_DATABASE_URL)")
        if not status.known:
            raise SchemaError(f"the {self.service} database is at revision {status.current}, which this version "
                              f"does not know (its newest is {status.head}): a newer zhifa migrated it; "
                              "run that version, or restore the backup taken before")

    def _adopt(self, conn: Connection) -> None:
        """A database from before migrations: complete it to the first revision's schema where that is
        safe (missing tables, nullable columns and indexes are added: older versions added them the same
        way), then record that revision. Anything else is refused and listed: a person decides."""
        frozen = self.initial_schema()
        context = MigrationContext.configure(conn, opts={
            "compare_type": True,
            "include_object": lambda obj, name, kind, reflected, _: kind != "table" or name in frozen.tables})
        ops = Operations(context)
        problems = []
        for diff in compare_metadata(context, frozen):
            kind = diff[0] if isinstance(diff, tuple) else None
            if kind == "add_table":
                diff[1].create(conn)
            elif kind == "add_column" and diff[3].nullable:
                ops.add_column(diff[2], diff[3]._copy())
            elif kind == "add_index":
                diff[1].create(conn)
            else:
                problems.append(_describe(diff))
        if problems:
            raise SchemaError(f"the {self.service} database differs from the schema this version starts from, "
                              "so it cannot be adopted as it is: " + "; ".join(problems))
        command.stamp(self.config(conn), self.scripts.get_base())

    def new_revision(self, message: str) -> Path:
        """The `alembic revision --autogenerate` of this project: the difference between the models and
        head (computed on a scratch SQLite database, so no server is needed) written as the next
        revision file. Refused when the models match head."""
        with tempfile.TemporaryDirectory() as scratch:
            engine = make_engine(f"sqlite:///{Path(scratch) / 'head.sqlite3'}")
            try:
                self.upgrade(engine)
                with engine.begin() as conn:
                    if not model_differences(conn, self.metadata):
                        raise SchemaError(f"the {self.service} models match the migrations: nothing to write")
                    number = 1 + max((int(m.group(1)) for r in self.scripts.walk_revisions()
                                      if (m := re.search(r"(\d+)$", r.revision))), default=0)
                    script = command.revision(self.config(conn), message=message, autogenerate=True,
                                              rev_id=f"{self.service}_{number:04d}")
            finally:
                engine.dispose()
        return Path(script.path)


_SCRIPTS: dict[tuple[str, int], ScriptDirectory] = {}


def _scripts(cfg: Config) -> ScriptDirectory:
    """Loading the revision files costs ~20 ms, at every app built: once per directory as it is
    (a revision added to it changes its mtime, so it is read again)."""
    location = cfg.get_main_option("script_location")
    key = (location, (Path(location) / "versions").stat().st_mtime_ns)
    if key not in _SCRIPTS:
        _SCRIPTS[key] = ScriptDirectory.from_config(cfg)
    return _SCRIPTS[key]


def model_differences(conn: Connection, metadata: MetaData) -> list:
    """What alembic's autogenerate finds between a database and a service's models (empty: none)."""
    context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _not_versions})
    return compare_metadata(context, metadata)


def _not_versions(obj, name, kind, reflected, compare_to) -> bool:
    """Every table but the services' version tables."""
    return not (kind == "table" and name and name.startswith("alembic_version"))


def _known(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except Exception:    # alembic raises its own errors for an unknown id
        return False


def _describe(diff) -> str:
    if isinstance(diff, list):
        return ", ".join(_describe(d) for d in diff)
    kind = diff[0]
    if kind in ("add_column", "remove_column"):
        return f"{kind} {diff[2]}.{diff[3].name}"
    if kind.startswith("modify_"):
        return f"{kind} {diff[2]}.{diff[3]}: {diff[5]!r} in the database, {diff[6]!r} expected"
    target = diff[1]
    return f"{kind} {getattr(target, 'name', target)}"


def run_env() -> None:
    """Each services/<service>/migrations/env.py: run the migrations on the connection `Migrations`
    hands over, or, from the plain `alembic` command, on the service's configured database."""
    from alembic import context
    cfg = context.config
    service = cfg.attributes.get("service") or cfg.get_main_option("zhifa_service")
    metadata = cfg.attributes.get("metadata")
    options = dict(target_metadata=metadata if metadata is not None else models_metadata(service),
                   version_table=version_table(service), compare_type=True, include_object=_not_versions)
    connection = cfg.attributes.get("connection")
    if connection is not None:
        _run(context, connection, options)
        return
    from shared import config
    url = config.load().database_url(service)
    if context.is_offline_mode():      # `alembic -n SERVICE upgrade head --sql`: the SQL for a DBA to run
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(context, conn, options)
    finally:
        engine.dispose()


def _run(context, connection: Connection, options: dict) -> None:
    # SQLite alters a table by copying it: batch mode renders that, and is plain ALTER elsewhere.
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite", **options)
    with context.begin_transaction():
        context.run_migrations()
