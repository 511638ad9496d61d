"""Blob store and audit chain on the real databases."""
from __future__ import annotations

import hashlib
import json
import os
from datetime import date

import pytest
from sqlalchemy import Column, Date, MetaData, String, update

from shared import audit
from shared.blobstore import BlobStore
from shared.db import make_engine, session_factory, transaction


def test_blob_is_named_by_its_sha256_and_read_back(tmp_path):
    store = BlobStore(tmp_path)
    digest = store.put("行政处罚决定书".encode())
    assert digest == hashlib.sha256("行政处罚决定书".encode()).hexdigest()
    assert store.get(digest) == "行政处罚决定书".encode()
    assert store.put("行政处罚决定书".encode()) == digest          # same content, same blob
    assert not [p for p in tmp_path.rglob(".tmp-*")]               # no temp file left behind


def test_blob_corrupted_on_disk_is_refused(tmp_path):
    store = BlobStore(tmp_path)
    digest = store.put(b"original")
    path = store.path(digest)
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(IOError):
        store.get(digest)


def test_blob_name_must_be_a_digest(tmp_path):
    with pytest.raises(ValueError):
        BlobStore(tmp_path).path("../../etc/passwd")


@pytest.fixture
def audit_db(database_url):
    metadata = MetaData()
    table = audit.audit_table(metadata)
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield session_factory(engine), table
    engine.dispose()


def test_audit_chain_links_entries_and_detects_tampering(audit_db):
    sessions, table = audit_db
    hashes = []
    for i in range(3):
        with transaction(sessions) as s:
            hashes.append(audit.append(s, table, "case-system:abc", "document.issued", f"doc-{i}", {"n": i}))
    with sessions() as s:
        assert audit.verify_chain(s, table) is None
        rows = s.execute(table.select().order_by(table.c.seq)).all()
    assert [r.prev_hash for r in rows] == [audit.GENESIS, hashes[0], hashes[1]]

    with transaction(sessions) as s:   # someone edits history
        s.execute(update(table).where(table.c.seq == 2).values(subject="doc-x"))
    with sessions() as s:
        assert audit.verify_chain(s, table) == 2


def test_audit_entry_rolls_back_with_its_transaction(audit_db):
    sessions, table = audit_db
    with pytest.raises(RuntimeError):
        with transaction(sessions) as s:
            audit.append(s, table, "a", "x", "y")
            raise RuntimeError("state change failed")
    with sessions() as s:
        assert s.execute(table.select()).first() is None


def _create_schema_together(url: str, barrier, results) -> None:
    from services.generator.models import Base
    from shared.db import create_schema
    engine = make_engine(url)
    barrier.wait()
    try:
        create_schema(engine, Base.metadata)
        results.put("ok")
    except Exception as exc:   # reported to the test, which names it
        results.put(repr(exc))
    finally:
        engine.dispose()


def test_processes_starting_together_create_the_schema_once(database_url):
    """A web process and its workers start at the same moment on an empty database."""
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_create_schema_together, args=(database_url, barrier, results)) for _ in range(4)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert outcomes == ["ok"] * 4


def test_an_audit_hash_is_the_one_earlier_releases_stored(audit_db):
    """Existing audit_log rows keep verifying: the hash is sha256 of
    [seq, at, actor, action, subject, details, prev] as JSON."""
    sessions, table = audit_db
    with transaction(sessions) as s:
        digest = audit.append(s, table, "admin:1234", "document.issued", "doc-1", {"号": 1})
    with sessions() as s:
        row = s.execute(table.select()).one()
    from shared.db import as_utc
    payload = json.dumps([1, as_utc(row.at).isoformat(), "admin:1234", "document.issued", "doc-1",
                          '{"号": 1}', audit.GENESIS], ensure_ascii=False)
    assert digest == row.hash == hashlib.sha256(payload.encode()).hexdigest()


@pytest.fixture
def ledger_db(database_url):
    metadata = MetaData()
    table = audit.chained_table(metadata, "ledger", Column("case_file_id", String(36), nullable=False),
                                Column("sha256", String(64), nullable=False),
                                Column("sealed_on", Date, nullable=True))
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield session_factory(engine), table
    engine.dispose()


def test_a_ledger_chains_its_own_columns_and_detects_a_swapped_file(ledger_db):
    sessions, table = ledger_db
    for i in range(3):
        with transaction(sessions) as s:
            entry = audit.append_entry(s, table, case_file_id=f"cf-{i}", sha256=f"{i}" * 64,
                                       sealed_on=date(2026, 5, i + 1))
    assert entry["seq"] == 3
    with sessions() as s:
        assert audit.verify_chain(s, table) is None
    with transaction(sessions) as s:   # a sealed file replaced, its ledger hash edited to match
        s.execute(update(table).where(table.c.seq == 2).values(sha256="f" * 64))
    with sessions() as s:
        assert audit.verify_chain(s, table) == 2
    with pytest.raises(ValueError):
        with transaction(sessions) as s:
            audit.append_entry(s, table, case_file_id="cf-9")   # a column left out


def test_a_large_blob_is_stored_as_a_stream(tmp_path):
    store = BlobStore(tmp_path / "blobs")
    chunks = [os.urandom(1024 * 1024) for _ in range(5)]
    digest, size = store.put_stream(iter(chunks))
    whole = b"".join(chunks)
    assert (digest, size) == (hashlib.sha256(whole).hexdigest(), len(whole))
    assert store.verify(digest) and b"".join(store.iter_chunks(digest)) == whole
    source = tmp_path / "video.mp4"
    source.write_bytes(whole)
    assert store.put_file(source) == (digest, size)               # the same content, the same blob
    # Read-only, and readable by the service's user only (blobs hold personal data), in private directories.
    assert oct(store.path(digest).stat().st_mode & 0o777) == "0o400"
    assert {oct(d.stat().st_mode & 0o777) for d in (store.root, store.path(digest).parent,
                                                    store.path(digest).parent.parent)} == {"0o700"}
    assert not [p for p in (tmp_path / "blobs").rglob(".tmp-*")]


def test_a_failed_stream_leaves_no_blob_and_no_temp_file(tmp_path):
    store = BlobStore(tmp_path)

    def broken():
        yield b"first part"
        raise ConnectionError("client went away")
    with pytest.raises(ConnectionError):
        store.put_stream(broken())
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_atomic_write_sets_the_mode_and_replaces_whole(tmp_path):
    from shared.files import atomic_write, write_file
    target = tmp_path / "api-keys"
    write_file(target, "token=admin\n", mode=0o600)
    assert target.read_text() == "token=admin\n" and target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(RuntimeError):
        with atomic_write(target) as out:
            out.write(b"half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "token=admin\n"
    assert [p.name for p in tmp_path.iterdir()] == ["api-keys"]
