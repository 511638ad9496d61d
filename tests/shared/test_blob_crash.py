"""A crash between writing a blob and committing the row that names it, on both backends
(S3 on moto's server as a real process: tests/shared/s3.py says why not MinIO).

The crash is real: a child process issuing a generator document is killed (SIGKILL) after
its DOCX is stored and before its transaction commits. Nothing of it is visible (no row, no
number used), the blob is an orphan `zhifa fsck` lists, keeps while it may still belong to a
transaction in flight, and removes once past the grace period. A write killed half-way
leaves no blob at all, only a temp file (or an incomplete S3 upload) the sweep removes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shared import config
from shared.blobstore import LocalBlobStore, S3BlobStore, fsck, open_store
from shared.db import make_engine
from tests.conftest import ROOT
from tests.shared.s3 import s3_bucket, s3_env, s3_server  # noqa: F401  (fixtures)

STALL_AFTER_PUT = textwrap.dedent("""
    import sys, time
    from services.generator.app import create_app
    from shared import config
    from tests.conftest import auth
    from tests.generator.test_api import example
    app = create_app(config.load())
    documents = app.extensions["zhifa.runtime"].documents
    real_put = documents.blobs.put

    def put_then_stall(data):
        sha = real_put(data)
        open(sys.argv[1], "w").write(sha)      # the blob is stored, its row not yet committed
        time.sleep(600)
    documents.blobs.put = put_then_stall
    app.test_client().post("/v1/documents", json={"type": "penalty_decision", "data": example("penalty_decision")},
                           headers=auth())
""")


@pytest.fixture(params=["local", "s3"])
def backend_env(request) -> dict:
    return {} if request.param == "local" else request.getfixturevalue("s3_env")


def run_until(script: str, signal_file: Path, seconds: float = 120) -> str:
    """Run `script` in a child process until it writes `signal_file`, then kill it outright."""
    proc = subprocess.Popen([sys.executable, "-c", script, str(signal_file)], cwd=ROOT, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + seconds
    while not (signal_file.exists() and signal_file.read_text()):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()[-3000:]
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return signal_file.read_text()


def fsck_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.cli", "fsck", "generator", *args], cwd=ROOT,
                          env=dict(os.environ), capture_output=True, text=True, timeout=120)


def test_a_process_killed_between_the_blob_and_its_row_leaves_an_orphan_fsck_removes(zhifa_env, pg_url, backend_env,
                                                                                      tmp_path):
    from services.generator.app import create_app
    from services.generator.models import Document
    settings = zhifa_env(ZHIFA_GENERATOR_DATABASE_URL=pg_url, **backend_env)
    orphan = run_until(STALL_AFTER_PUT, tmp_path / "stored")
    store = open_store(settings, "generator")
    assert store.exists(orphan)                                  # the blob was written ...
    engine = make_engine(pg_url)
    with engine.connect() as conn:                               # ... its row and number never were
        assert conn.execute(select(func.count()).select_from(Document)).scalar() == 0

    listed = fsck_cli()
    assert listed.returncode == 1 and f"orphan  {orphan}" in listed.stdout, listed.stdout + listed.stderr
    young = fsck_cli("--delete")                                 # may belong to a transaction in flight: kept
    assert young.returncode == 1 and "kept: younger than 3600 s" in young.stdout and store.exists(orphan)
    removed = fsck_cli("--delete", "--grace", "0")
    assert removed.returncode == 0 and f"{orphan}" in removed.stdout and "deleted" in removed.stdout
    assert not store.exists(orphan) and list(store.listing()) == []

    # The service goes on: the next document takes the number the killed one never used.
    app = create_app(config.load())
    try:
        from tests.conftest import auth
        from tests.generator.test_api import example
        resp = app.test_client().post("/v1/documents", json={"type": "penalty_decision",
                                                             "data": example("penalty_decision")}, headers=auth())
        assert resp.status_code == 201 and resp.get_json()["number"].endswith("〕1号"), resp.get_json()
    finally:
        app.extensions["zhifa.runtime"].close()
    assert fsck_cli().returncode == 0

    # The other way round: a row whose blob was lost is named, with its column.
    doc_sha = resp.get_json()["files"]["docx"]["sha256"]
    store.delete(doc_sha)
    lost = fsck_cli("--delete", "--grace", "0")
    assert lost.returncode == 1 and f"missing {doc_sha}  named by documents.docx_sha256" in lost.stdout
    engine.dispose()


KILLED_MID_WRITE = textwrap.dedent("""
    import os, sys, time
    from shared import config
    from shared.blobstore import open_store
    store = open_store(config.load(), "generator")
    on_s3 = hasattr(store, "client")
    if on_s3:                  # S3: stall once the multipart upload has its first part
        real_upload_part = store.client.upload_part

        def upload_part_then_stall(**kwargs):
            answer = real_upload_part(**kwargs)
            open(sys.argv[1], "w").write("part")
            time.sleep(600)
        store.client.upload_part = upload_part_then_stall

    def video():
        for _ in range(40):                        # 40 MB: a multipart upload on S3
            yield os.urandom(1024 * 1024)
        if not on_s3:                              # locally: the whole file is in its temp file
            open(sys.argv[1], "w").write("written")
            time.sleep(600)
    store.put_stream(video())
""")


def test_a_write_killed_half_way_leaves_no_blob_and_its_remains_are_swept(zhifa_env, backend_env, tmp_path):
    settings = zhifa_env(**backend_env)
    run_until(KILLED_MID_WRITE, tmp_path / "stalled")
    store = open_store(settings, "generator")
    assert list(store.listing()) == []                             # no half (nor whole) blob to serve
    assert [p for p in store.scratch.iterdir() if p.name.startswith(".tmp-")]
    if isinstance(store, S3BlobStore):
        uploads = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
        assert len(uploads) == 1 and uploads[0]["Key"].startswith("zhifa/generator/")
    assert isinstance(store, (LocalBlobStore, S3BlobStore))

    # fsck --delete past the grace period: the incomplete upload aborted, the temp file swept.
    from services.generator.models import BLOB_COLUMNS, Base
    engine = make_engine(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    Base.metadata.create_all(engine)
    stale = os.path.getmtime(next(store.scratch.glob(".tmp-*"))) + 3600
    for path in store.scratch.glob(".tmp-*"):
        os.utime(path, (stale - 7200, stale - 7200))
    report = fsck(store, engine.connect, BLOB_COLUMNS, delete=True, grace_seconds=0)
    assert report.clean and report.orphans == []
    assert report.aborted_uploads == (1 if isinstance(store, S3BlobStore) else 0)
    assert [p for p in store.scratch.iterdir() if p.name.startswith(".tmp-")] == []
    if isinstance(store, S3BlobStore):
        assert store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []
    engine.dispose()
