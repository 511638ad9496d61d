"""Blob store and audit chain on the real databases."""
from __future__ import annotations

import hashlib
import os

import pytest
from sqlalchemy import MetaData, update

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
