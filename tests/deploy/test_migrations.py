"""Each service's database by Alembic migrations, on SQLite and PostgreSQL: empty to head gives
exactly the models' schema (so a model change without its revision fails here), `zhifa migrate`
is idempotent, a database made by create_all before migrations is adopted with its rows, and a
database the code cannot use is refused with the command to run."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, inspect, text

from shared import audit
from shared.db import make_engine, session_factory, transaction
from shared.migrate import Migrations, SchemaError, model_differences, models_metadata, version_table

SERVICES = ("generator", "archive", "search")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def differences(engine, metadata=None, service="generator") -> list:
    with engine.connect() as conn:
        return model_differences(conn, metadata if metadata is not None else models_metadata(service))


def revision(engine, service: str) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table(version_table(service)):
            return None
        return conn.execute(text(f"SELECT version_num FROM {version_table(service)}")).scalar()


def copy_of_migrations(service: str, target: Path) -> Path:
    """A service's scripts where a test may add a revision without touching the real ones."""
    source = Path(__file__).resolve().parents[2] / "services" / service / "migrations"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def with_extra_column(service: str, table: str) -> MetaData:
    """The service's models plus one column: a model change nobody wrote a revision for."""
    metadata = MetaData()
    for each in models_metadata(service).sorted_tables:
        each.to_metadata(metadata)
    metadata.tables[table].append_column(Column("added_later", String(40)))
    return metadata


@pytest.mark.parametrize("service", SERVICES)
def test_empty_to_head_is_exactly_the_models_schema(engine, service):
    before, after = Migrations(service).upgrade(engine)
    assert before.empty and after.current == after.head == f"{service}_0001"
    assert differences(engine, service=service) == []


def test_the_comparison_sees_a_model_change_that_has_no_revision(engine):
    Migrations("search").upgrade(engine)
    found = differences(engine, with_extra_column("search", "decisions"))
    assert [(d[0], d[2], d[3].name) for d in found] == [("add_column", "decisions", "added_later")]


def test_zhifa_migrate_twice_changes_nothing_the_second_time(tmp_path, database_url, capsys, monkeypatch):
    from services import cli
    for name in [n for n in os.environ if n.startswith("ZHIFA_") and not n.startswith("ZHIFA_TEST_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ZHIFA_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ZHIFA_GENERATOR_DATABASE_URL", database_url)
    assert cli.main(["migrate", "--check"]) == 1
    assert "generator: empty (head generator_0001, behind" in capsys.readouterr().out
    assert cli.main(["migrate"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "generator: empty -> generator_0001", "archive: empty -> archive_0001", "search: empty -> search_0001"]
    engine = make_engine(database_url)
    with transaction(session_factory(engine)) as session:
        audit.append(session, models_metadata("generator").tables["audit_log"], "admin", "test.kept", "x")
    assert cli.main(["migrate", "generator"]) == 0
    assert capsys.readouterr().out == "generator: generator_0001 -> generator_0001  (already up to date)\n"
    assert cli.main(["migrate", "--check"]) == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT action FROM audit_log")).scalars().all() == ["test.kept"]
    engine.dispose()


@pytest.mark.parametrize("service", SERVICES)
def test_a_database_made_by_create_all_is_adopted_with_its_rows(engine, service):
    """What every installation has before this change: the models' tables, no version table."""
    models_metadata(service).create_all(engine)
    table = models_metadata(service).tables["audit_log"]
    with transaction(session_factory(engine)) as session:
        audit.append(session, table, "admin", "before.migrations", "x")
    migrations = Migrations(service)
    if engine.dialect.name == "postgresql":
        with pytest.raises(SchemaError, match=rf"made before migrations.*run `zhifa migrate {service}`"):
            migrations.ensure(engine)
        assert revision(engine, service) is None
        before, _ = migrations.upgrade(engine)
    else:                        # the embedded default adopts on start
        before = migrations.ensure(engine)
    assert before.unversioned and revision(engine, service) == migrations.head
    assert differences(engine, service=service) == []
    with transaction(session_factory(engine)) as session:
        audit.append(session, table, "admin", "after.migrations", "x")
    with session_factory(engine)() as session:
        assert audit.verify_chain(session, table) is None
        assert session.execute(table.select().order_by(table.c.seq)).mappings().all()[0]["action"] == "before.migrations"


def test_an_older_archive_gains_the_nullable_columns_and_tables_added_since(engine):
    """Before migrations the archive added nullable columns itself at start; adoption does the same."""
    old = Migrations("archive").initial_schema()
    old.remove(old.tables["page_sessions"])          # a table added later
    old.create_all(engine)
    with engine.begin() as conn:
        for name in ("party_detail", "case_number", "secrecy"):     # columns added later
            conn.execute(text(f"ALTER TABLE case_files DROP COLUMN {name}"))
    Migrations("archive").upgrade(engine)
    assert differences(engine, service="archive") == []


def test_a_schema_that_differs_otherwise_is_refused_and_left_as_it_was(engine):
    odd = MetaData()
    Table("documents", odd, Column("id", String(36), primary_key=True), Column("number", Integer, nullable=False))
    odd.create_all(engine)
    with pytest.raises(SchemaError, match=r"cannot be adopted.*documents\.number"):
        Migrations("generator").upgrade(engine)
    with engine.connect() as conn:                    # nothing created, nothing recorded: all in one transaction
        assert sorted(inspect(conn).get_table_names()) == ["documents"]


def test_behind_head_sqlite_is_migrated_on_start_and_postgresql_refused(engine, tmp_path):
    Migrations("search").upgrade(engine)
    scripts = copy_of_migrations("search", tmp_path / "migrations")
    (scripts / "versions" / "0002_pending.py").write_text('''"""pending publications (a test's)"""
import sqlalchemy as sa
from alembic import op

revision = "search_0002"
down_revision = "search_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("pending", sa.Column("number", sa.String(100), primary_key=True))
''')
    newer = MetaData()
    for each in models_metadata("search").sorted_tables:
        each.to_metadata(newer)
    Table("pending", newer, Column("number", String(100), primary_key=True))
    migrations = Migrations("search", scripts, newer)
    if engine.dialect.name == "postgresql":
        with pytest.raises(SchemaError, match=r"is at revision search_0001, this version needs search_0002: "
                                              r"back it up, then run `zhifa migrate search`"):
            migrations.ensure(engine)
        assert revision(engine, "search") == "search_0001"
        migrations.upgrade(engine)
    else:
        migrations.ensure(engine)
    assert revision(engine, "search") == "search_0002"
    assert differences(engine, newer) == []


def revision_file(scripts: Path, body: str) -> None:
    (scripts / "versions" / "0002_test.py").write_text(f'''"""a test's revision"""
import sqlalchemy as sa
from alembic import op

revision = "generator_0002"
down_revision = "generator_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}
''')


def issue_one_document(engine) -> None:
    """A document and an idempotency key that refers to it."""
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO documents (id, type, title, template_version, number, agency, agency_name, kind, year, seq, "
            "issued_on, issued_at, issued_by, data, deadlines, verification_code, docx_sha256, docx_bytes, pdf_status, "
            "pdf_attempts, warnings) VALUES ('d1', 't', '行政处罚决定书', '1', '鞍审批罚决字〔2026〕1号', 'a', 'a', "
            "'k', 2026, 1, '2026-01-05', '2026-01-05 08:00:00+00:00', 'x', '{}', '[]', 'c', 's', 1, 'none', 0, '[]')"))
        conn.execute(text("INSERT INTO idempotency_keys VALUES ('case-system:1', 'k1', 'h', 'd1')"))


def test_a_revision_that_rebuilds_a_referenced_table_keeps_its_rows(engine, tmp_path):
    """SQLite alters a column by copying the table (batch mode); with foreign keys enforced, dropping the
    old documents table, which idempotency keys refer to, would fail."""
    Migrations("generator").upgrade(engine)
    issue_one_document(engine)
    scripts = copy_of_migrations("generator", tmp_path / "migrations")
    revision_file(scripts, '''    with op.batch_alter_table("documents") as batch:
        batch.alter_column("title", existing_type=sa.String(100), type_=sa.String(300), existing_nullable=False)''')
    wider = MetaData()
    for each in models_metadata("generator").sorted_tables:
        each.to_metadata(wider)
    wider.tables["documents"].c.title.type = String(300)
    Migrations("generator", scripts, wider).upgrade(engine)
    assert revision(engine, "generator") == "generator_0002" and differences(engine, wider) == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT i.key, d.title FROM idempotency_keys i JOIN documents d ON d.id = i.document_id")
                            ).all() == [("k1", "行政处罚决定书")]


def test_a_sqlite_revision_that_leaves_dangling_references_is_rolled_back(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    Migrations("generator").upgrade(engine)
    issue_one_document(engine)
    scripts = copy_of_migrations("generator", tmp_path / "migrations")
    revision_file(scripts, "    op.execute(\"DELETE FROM documents\")")
    with pytest.raises(SchemaError, match=r"generator_0002 leave rows whose references point nowhere"):
        Migrations("generator", scripts).upgrade(engine)
    assert revision(engine, "generator") == "generator_0001"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM documents")).scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1     # enforced again for the service
    engine.dispose()


def test_a_database_a_newer_release_migrated_is_refused(engine):
    Migrations("archive").upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {version_table('archive')} SET version_num = 'archive_0042'"))
    for attempt in (Migrations("archive").ensure, Migrations("archive").upgrade):
        with pytest.raises(SchemaError, match="archive_0042, which this version does not know"):
            attempt(engine)


def test_a_database_of_another_service_is_refused(engine):
    """The services share table names (audit_log, outbox): adopting the generator's tables as the
    archive's would mix two audit chains."""
    Migrations("generator").upgrade(engine)
    for attempt in (Migrations("archive").ensure, Migrations("archive").upgrade):
        with pytest.raises(SchemaError, match=r"holds the generator service's tables: each service needs a "
                                              r"database of its own \(ZHIFA_ARCHIVE_DATABASE_URL\)"):
            attempt(engine)
    assert revision(engine, "archive") is None and revision(engine, "generator") == "generator_0001"


def test_a_new_revision_is_written_from_the_models_change_and_brings_a_database_level(engine, tmp_path):
    """The developers' `alembic revision --autogenerate`: `zhifa migrate SERVICE --revision MESSAGE`."""
    scripts = copy_of_migrations("generator", tmp_path / "migrations")
    changed = with_extra_column("generator", "documents")
    migrations = Migrations("generator", scripts, changed)
    written = migrations.new_revision("documents: added_later")
    assert written.parent == scripts / "versions" and "generator_0002" in written.name
    assert "added_later" in written.read_text()
    Migrations("generator").upgrade(engine)           # a database at today's head
    before, after = Migrations("generator", scripts, changed).upgrade(engine)
    assert (before.current, after.current) == ("generator_0001", "generator_0002")
    assert differences(engine, changed) == []
    with pytest.raises(SchemaError, match="match the migrations: nothing to write"):
        Migrations("generator", scripts, changed).new_revision("again")


def _ensure_together(url: str, barrier, results) -> None:
    engine = make_engine(url)
    barrier.wait()
    try:
        Migrations("generator").ensure(engine)
        results.put("ok")
    except Exception as exc:   # reported to the test, which names it
        results.put(repr(exc))
    finally:
        engine.dispose()


def test_processes_starting_together_migrate_once(database_url):
    """A web process and its workers start at the same moment on an empty database."""
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_ensure_together, args=(database_url, barrier, results)) for _ in range(4)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert outcomes == ["ok"] * 4
    engine = make_engine(database_url)
    assert revision(engine, "generator") == "generator_0001" and differences(engine) == []
    engine.dispose()


def test_serve_on_a_postgresql_database_behind_head_refuses_with_the_command(pg_url, tmp_path):
    engine = make_engine(pg_url)
    models_metadata("search").create_all(engine)
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIFA_") or k.startswith("ZHIFA_TEST_")}
    result = subprocess.run([sys.executable, "-m", "services.cli", "serve", "search", "--port", "1"], cwd=ROOT,
                            env={**env, "ZHIFA_DATA_DIR": str(tmp_path), "ZHIFA_SEARCH_DATABASE_URL": pg_url,
                                 "ZHIFA_API_KEYS": "long-enough-token-for-the-test-0123456789=admin"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "zhifa serve: the search database was made before migrations (no alembic_version_search table), "
        "this version needs search_0001: back it up, then run `zhifa migrate search`")
