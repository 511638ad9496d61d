"""Blob store (both backends: files, and S3 on a local S3-compatible server) and audit chain on the
real databases."""
from __future__ import annotations

import hashlib
import json
import os
from datetime import date

import pytest
from sqlalchemy import Column, Date, MetaData, String, update

from shared import audit
from shared.blobstore import LocalBlobStore, S3BlobStore
from shared.db import make_engine, session_factory, transaction
from tests.shared.s3 import s3_bucket, s3_server  # noqa: F401  (fixtures)


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    """The store of each backend; S3 on moto's server (tests/shared/s3.py says why not MinIO)."""
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    server, bucket = request.getfixturevalue("s3_server"), request.getfixturevalue("s3_bucket")
    return S3BlobStore(bucket, "zhifa/test/", tmp_path / "scratch", **server.options)


def tamper(store, digest: str, data: bytes) -> None:
    """Someone replaces a stored blob's bytes behind the store's back."""
    if isinstance(store, LocalBlobStore):
        os.chmod(store.path(digest), 0o644)
        store.path(digest).write_bytes(data)
    else:
        store.client.put_object(Bucket=store.bucket, Key=store.key(digest), Body=data)


def leftovers(store) -> list:
    """Temp files the store left in its scratch directory."""
    return [p for p in store.scratch.rglob(".tmp-*")]


def test_blob_is_named_by_its_sha256_and_read_back(store):
    digest = store.put("行政处罚决定书".encode())
    assert digest == hashlib.sha256("行政处罚决定书".encode()).hexdigest()
    assert store.get(digest) == "行政处罚决定书".encode()
    assert store.put("行政处罚决定书".encode()) == digest          # same content, same blob
    assert [b.sha256 for b in store.listing()] == [digest]
    assert not leftovers(store)                                      # no temp file left behind


def test_blob_corrupted_in_the_store_is_refused(store):
    digest = store.put(b"original")
    tamper(store, digest, b"tampered")
    with pytest.raises(IOError):
        store.get(digest)
    assert not store.verify(digest)
    with pytest.raises(IOError):
        b"".join(store.iter_chunks(digest))     # a stream of it ends in an error, never as a whole file
    if isinstance(store, S3BlobStore):           # a copy for pikepdf is checked; a local blob is the file itself
        with pytest.raises(IOError):
            with store.local_path(digest):
                pass
    assert not leftovers(store)


def test_blob_name_must_be_a_digest(store):
    with pytest.raises(ValueError):
        store.exists("../../etc/passwd")
    with pytest.raises(ValueError):
        store.open("../../etc/passwd")
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


def test_a_large_blob_is_stored_as_a_stream(store, tmp_path):
    # 40 MB: over the S3 backend's 16 MB part size, so it goes as a multipart upload.
    chunks = [os.urandom(1024 * 1024) for _ in range(40)]
    digest, size = store.put_stream(iter(chunks))
    whole = b"".join(chunks)
    assert (digest, size) == (hashlib.sha256(whole).hexdigest(), len(whole))
    assert store.verify(digest) and b"".join(store.iter_chunks(digest)) == whole
    assert store.size(digest) == size and store.info(digest).size == size
    with store.local_path(digest) as path:                         # a path for pikepdf and tar
        assert path.stat().st_size == size
    source = tmp_path / "video.mp4"
    source.write_bytes(whole)
    assert store.put_file(source) == (digest, size)               # the same content, the same blob
    assert not leftovers(store)
    if isinstance(store, LocalBlobStore):
        # Read-only, and readable by the service's user only (blobs hold personal data), in private directories.
        assert oct(store.path(digest).stat().st_mode & 0o777) == "0o400"
        assert {oct(d.stat().st_mode & 0o777) for d in (store.root, store.path(digest).parent,
                                                        store.path(digest).parent.parent)} == {"0o700"}
    else:
        assert path.exists() is False                              # the copy went with its block
        assert store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


def test_a_blob_goes_in_and_out_without_being_held_in_memory(store):
    """64 MB in and out (a multipart upload on S3): the process's Python allocations peak far below the blob."""
    import tracemalloc
    block = os.urandom(1024 * 1024)
    chunks = (block[:-4] + i.to_bytes(4, "big") for i in range(64))
    tracemalloc.start()
    try:
        digest, size = store.put_stream(chunks)
        read = sum(len(chunk) for chunk in store.iter_chunks(digest))
        with store.local_path(digest) as path:
            assert path.stat().st_size == size
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert size == read == 64 * 1024 * 1024
    assert peak < 24 * 1024 * 1024, f"peak {peak / 2**20:.1f} MB for a 64 MB blob"


def test_several_blobs_are_had_as_files_at_once_and_a_damaged_one_refused(store):
    shas = [store.put(f"第{n}件".encode()) for n in range(12)]
    with store.local_copies(shas + shas[:2]) as files:          # the same blob asked twice, fetched once
        assert sorted(files) == sorted(shas)
        assert all(files[sha].read_bytes() == f"第{n}件".encode() for n, sha in enumerate(shas))
    assert not [p for p in store.scratch.rglob("*") if p.name.startswith(".tmp-")]
    if isinstance(store, S3BlobStore):                           # a local blob is the file itself, read by its user
        tamper(store, shas[3], b"tampered")
        with pytest.raises(IOError):
            with store.local_copies(shas):
                pass
        with store.local_copies(shas, skip_damaged=True) as files:   # for a check that reports it
            assert files[shas[3]] is None and files[shas[4]].read_bytes() == "第4件".encode()
        assert not [p for p in store.scratch.rglob("*") if p.name.startswith(".tmp-")]


def test_a_failed_stream_leaves_no_blob_and_no_temp_file(store):
    def broken():
        yield b"first part"
        raise ConnectionError("client went away")
    with pytest.raises(ConnectionError):
        store.put_stream(broken())
    assert list(store.listing()) == [] and not [p for p in store.scratch.rglob("*") if p.is_file()]


def test_a_finished_file_is_adopted_and_a_deleted_blob_is_gone(store):
    work = store.scratch / ".seal-x"
    work.mkdir()
    (work / "sealed.pdf").write_bytes(b"%PDF-1.7 sealed")
    digest, size = store.adopt(work / "sealed.pdf")
    assert store.get(digest) == b"%PDF-1.7 sealed" and size == 15
    assert not (work / "sealed.pdf").exists()
    store.delete(digest)
    assert not store.exists(digest) and store.info(digest) is None and list(store.listing()) == []
    with pytest.raises(FileNotFoundError):
        store.get(digest)


def test_putting_a_stored_blob_again_renews_its_time(store):
    """fsck's grace period then covers the transaction about to name the blob again."""
    digest = store.put(b"evidence")
    if isinstance(store, LocalBlobStore):
        os.utime(store.path(digest), (1_000_000_000, 1_000_000_000))
    else:
        import time
        time.sleep(1.1)                                            # S3 times have whole seconds
    before = store.info(digest).modified
    store.put(b"evidence")
    assert store.info(digest).modified > before


def test_check_says_whether_the_store_can_be_used(store, tmp_path, request):
    store.check()
    if isinstance(store, LocalBlobStore):
        broken = LocalBlobStore(tmp_path / "gone")
        os.rmdir(broken.root)
    else:                                                          # a bucket nobody made
        broken = S3BlobStore("no-such-bucket-zhifa", "x/", tmp_path / "s2", **request.getfixturevalue("s3_server").options)
    from botocore.exceptions import ClientError
    with pytest.raises((OSError, ClientError)):
        broken.check()


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


def test_the_s3_settings_choose_the_backend_and_give_each_service_its_prefix(zhifa_env, tmp_path):
    from shared.blobstore import open_store
    settings = zhifa_env()
    assert isinstance(open_store(settings, "archive"), LocalBlobStore)         # the default: files
    settings = zhifa_env(ZHIFA_S3_ENDPOINT_URL="http://127.0.0.1:9")
    with pytest.raises(ValueError, match="ZHIFA_S3_BUCKET"):                   # half a configuration stops the start
        open_store(settings, "archive")
    settings = zhifa_env(ZHIFA_S3_BUCKET="zhifa-blobs", ZHIFA_DEPLOYMENT="anshan")
    store = open_store(settings, "archive")
    assert isinstance(store, S3BlobStore) and store.describe() == "s3://zhifa-blobs/anshan/archive/"
    assert settings.s3_prefix("generator") == "anshan/generator/"
    assert zhifa_env(ZHIFA_GENERATOR_S3_PREFIX="gen").s3_prefix("generator") == "gen/"


def test_fsck_of_the_search_service_says_it_stores_no_blobs(zhifa_env, capsys):
    from services.cli import main
    zhifa_env()
    assert main(["fsck", "search"]) == 0
    assert "stores no blobs" in capsys.readouterr().out


def test_fsck_of_a_service_that_never_ran_says_so_and_creates_nothing(zhifa_env, tmp_path, capsys):
    from services.cli import main
    zhifa_env()
    assert main(["fsck", "generator"]) == 2
    assert "no such database" in capsys.readouterr().err
    assert not (tmp_path / "var").exists()
