"""The archive with its blobs on S3-compatible storage (moto's server as a real process,
tests/shared/s3.py), on PostgreSQL: a case file bound, checked, sealed and packaged from the
bucket, and its sealed PDF served by another host of the service."""
from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import bagit

from services.cli import main as zhifa
from tests.archive import samples
from tests.archive.conftest import archive_env, open_case, upload, wait_sealed
from tests.conftest import auth
from tests.shared.s3 import s3_bucket, s3_env, s3_server  # noqa: F401  (fixtures)

ARCHIVIST = auth("archivist")


def test_a_case_file_is_sealed_from_s3_and_served_by_another_host(zhifa_env, generator, seal_p12, clamd, pg_url,
                                                                  license_documents, s3_env, s3_server, tmp_path,
                                                                  capsys):
    from services.archive.app import create_app
    first = create_app(archive_env(zhifa_env, generator, seal_p12, ZHIFA_CLAMD=clamd,
                                   ZHIFA_ARCHIVE_DATABASE_URL=pg_url, **s3_env))
    second = None
    try:
        client = first.test_client()
        accepted, granted, receipt = license_documents
        case = open_case(client, decision_number=granted["number"])
        for doc in (receipt, accepted, granted):
            resp = client.post(f"/v1/case-files/{case['id']}/items", json={"document_id": doc["id"]}, headers=ARCHIVIST)
            assert resp.status_code == 201, resp.get_json()
        scan = samples.scan_jpeg()
        item = upload(client, case["id"], "scan.jpg", scan, {"title": "营业执照复印件", "kind": "evidence",
                                                             "category": "identity", "date": "2026-03-02"})
        assert item.status_code == 201, item.get_json()
        assert upload(client, case["id"], "site.wav", samples.wav(2),
                      {"title": "现场核查录音", "kind": "evidence", "date": "2026-03-10"}).status_code == 201
        # The four-properties checks read every original from the bucket (digests, malware scan, PDF structure).
        checks = client.get(f"/v1/case-files/{case['id']}/checks", headers=ARCHIVIST).get_json()
        assert checks["passed"], checks
        original = client.get(f"/v1/case-files/{case['id']}/items/{item.get_json()['id']}/original", headers=ARCHIVIST)
        assert original.status_code == 200 and original.data == scan
        assert original.headers["Content-Disposition"] == f"attachment; filename={item.get_json()['id']}.jpeg"

        assert client.post(f"/v1/case-files/{case['id']}/seal", headers=ARCHIVIST).status_code == 202
        body = wait_sealed(client, case["id"])
        assert body["status"] == "sealed", body
        pdf = client.get(f"/v1/case-files/{case['id']}/pdf", headers=ARCHIVIST)
        assert pdf.status_code == 200 and int(pdf.headers["Content-Length"]) == len(pdf.data)
        path = tmp_path / "sealed.pdf"
        path.write_bytes(pdf.data)
        sig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
        assert "Signature is Valid" in sig and "Total document signed" in sig, sig
        with open(path, "rb") as fh:
            verified = client.post("/v1/verify", data={"file": (fh, "copy.pdf")},
                                   content_type="multipart/form-data").get_json()
        assert verified["valid"] and verified["intact"] and verified["ledger"]["found"], verified
        etag = pdf.headers["ETag"]
        assert client.get(f"/v1/case-files/{case['id']}/pdf", headers={**ARCHIVIST, "If-None-Match": etag}
                          ).status_code == 304

        def ranged(value: str, **extra):
            return client.get(f"/v1/case-files/{case['id']}/pdf", headers={**ARCHIVIST, "Range": value, **extra})
        size = len(pdf.data)                                   # a download resumed, as from local files
        part = ranged("bytes=100-199")
        assert part.status_code == 206 and part.data == pdf.data[100:200]
        assert part.headers["Content-Range"] == f"bytes 100-199/{size}" and part.headers["Content-Length"] == "100"
        assert ranged("bytes=-64").data == pdf.data[-64:] and ranged(f"bytes={size - 10}-").data == pdf.data[-10:]
        assert ranged(f"bytes={size}-").status_code == 416
        assert ranged("bytes=0-9", **{"If-Range": '"another-version"'}).data == pdf.data   # changed: the whole file

        package = client.get(f"/v1/case-files/{case['id']}/package", headers=ARCHIVIST)
        assert package.status_code == 200
        (tmp_path / "bag.tar").write_bytes(package.data)
        with tarfile.open(tmp_path / "bag.tar") as tar:
            tar.extractall(tmp_path / "out", filter="data")
        bag = bagit.Bag(str(next((tmp_path / "out").iterdir())))
        bag.validate()
        assert len([p for p in bag.payload_files() if p.startswith("data/originals/")]) == 5

        # Another host: its own disk, the same database and bucket.
        second = create_app(archive_env(zhifa_env, generator, seal_p12, ZHIFA_DATA_DIR=tmp_path / "host-2",
                                        ZHIFA_ARCHIVE_DATABASE_URL=pg_url, **s3_env))
        again = second.test_client().get(f"/v1/case-files/{case['id']}/pdf", headers=ARCHIVIST)
        assert again.status_code == 200 and again.data == pdf.data

        keys = s3_server.keys(s3_env["ZHIFA_S3_BUCKET"])
        assert body["seal"]["sha256"] in {k.rsplit("/", 1)[1] for k in keys}
        assert keys and all(k.startswith("zhifa/archive/") for k in keys)
        for data_dir in (tmp_path / "var", tmp_path / "host-2"):
            # No blob on either disk, and no temp copy left behind by the checks, the seal or the package.
            assert [p for p in Path(data_dir).rglob("*") if p.is_file() and len(p.name) == 64] == []
            assert [p for p in Path(data_dir).rglob("blob-scratch/*")] == []
    finally:
        first.extensions["zhifa.runtime"].close()
        if second is not None:
            second.extensions["zhifa.runtime"].close()

    capsys.readouterr()
    assert zhifa(["fsck", "archive"]) == 0
    out = capsys.readouterr().out
    assert "0 orphans" in out and "0 rows without their blob" in out


def test_a_worker_on_another_host_seals_from_the_bucket(zhifa_env, generator, seal_p12, pg_url, own_redis, s3_env,
                                                        tmp_path):
    """The web process and a `zhifa worker archive` process with data directories of their own
    (two hosts): the worker reads the upload from the bucket and puts the sealed file there."""
    from services.archive.app import create_app
    from tests.conftest import start_worker
    app = create_app(archive_env(zhifa_env, generator, seal_p12, ZHIFA_ARCHIVE_DATABASE_URL=pg_url,
                                 ZHIFA_REDIS_URL=own_redis.url, **s3_env))
    zhifa_env(ZHIFA_DATA_DIR=tmp_path / "worker-host")
    worker = start_worker(tmp_path, "worker", own_redis.url, "archive")
    try:
        client = app.test_client()
        case = open_case(client, case_type="penalty", archive_number="A012-2026-30-0301",
                         decision_number="鞍审批罚决字〔2026〕第3号")
        assert upload(client, case["id"], "scan.jpg", samples.scan_jpeg(), {"title": "询问笔录扫描件", "kind": "evidence",
                                                                            "date": "2026-02-02"}).status_code == 201
        resp = client.post(f"/v1/case-files/{case['id']}/seal", json={"override_reason": "测试：必备文书另行归档"},
                           headers=ARCHIVIST)
        assert resp.status_code == 202
        body = wait_sealed(client, case["id"], 120)
        assert body["status"] == "sealed", (tmp_path / "worker.log").read_text()
        pdf = client.get(f"/v1/case-files/{case['id']}/pdf", headers=ARCHIVIST)
        import hashlib
        assert hashlib.sha256(pdf.data).hexdigest() == body["seal"]["sha256"]
        # The seal job ran in the worker (its log), on a host that never held the upload on its disk.
        log = (tmp_path / "worker.log").read_text()
        assert "Successfully completed shared.outbox.execute('services.archive.runtime.current_outbox'" in log, log
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        app.extensions["zhifa.runtime"].close()


SEAL_THEN_DIE = """
import sys, time
from services.archive import runtime
from services.cli import main
blobs = runtime.current().blobs            # this worker's runtime, built once
real_adopt = blobs.adopt

def adopt_then_stall(path, sha=None):
    stored = real_adopt(path, sha)
    open(sys.argv[1], "w").write(stored[0])   # the sealed file is in the bucket, the case file not yet sealed
    time.sleep(600)
blobs.adopt = adopt_then_stall
sys.exit(main(["worker", "archive"]))
"""


def test_a_worker_killed_between_storing_the_sealed_file_and_its_commit_leaves_an_orphan_fsck_removes(
        zhifa_env, generator, seal_p12, pg_url, own_redis, s3_env, s3_server, tmp_path, capsys):
    import os
    import signal
    import sys
    import time

    from services.archive.app import create_app
    from tests.conftest import ROOT, start_worker
    app = create_app(archive_env(zhifa_env, generator, seal_p12, ZHIFA_ARCHIVE_DATABASE_URL=pg_url,
                                 ZHIFA_REDIS_URL=own_redis.url, **s3_env))
    client = app.test_client()
    stalled, second = tmp_path / "stalled", None
    first = subprocess.Popen([sys.executable, "-c", SEAL_THEN_DIE, str(stalled)], cwd=ROOT, env=dict(os.environ),
                             stdout=open(tmp_path / "first.log", "w"), stderr=subprocess.STDOUT)
    try:
        case = open_case(client, case_type="penalty", archive_number="A012-2026-30-0302",
                         decision_number="鞍审批罚决字〔2026〕第4号")
        assert upload(client, case["id"], "scan.jpg", samples.scan_jpeg(), {"title": "询问笔录扫描件", "kind": "evidence",
                                                                            "date": "2026-02-02"}).status_code == 201
        assert client.post(f"/v1/case-files/{case['id']}/seal", json={"override_reason": "测试：必备文书另行归档"},
                           headers=ARCHIVIST).status_code == 202
        deadline = time.monotonic() + 120
        while not (stalled.exists() and stalled.read_text()):
            assert first.poll() is None and time.monotonic() < deadline, (tmp_path / "first.log").read_text()
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        killed_run = stalled.read_text()
        assert killed_run in {k.rsplit("/", 1)[1] for k in s3_server.keys(s3_env["ZHIFA_S3_BUCKET"])}
        assert client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()["status"] == "sealing"
        assert client.get(f"/v1/case-files/{case['id']}/pdf", headers=ARCHIVIST).status_code == 409   # nothing served

        second = start_worker(tmp_path, "second", own_redis.url, "archive")    # takes the job over
        body = wait_sealed(client, case["id"], 120)
        assert body["status"] == "sealed" and body["seal"]["sha256"] != killed_run   # signed anew, at another time
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
        app.extensions["zhifa.runtime"].close()

    capsys.readouterr()
    assert zhifa(["fsck", "archive"]) == 1                       # the killed run's sealed file, no row names it
    assert f"orphan  {killed_run}" in capsys.readouterr().out
    assert zhifa(["fsck", "archive", "--delete", "--grace", "0"]) == 0
    assert zhifa(["fsck", "archive"]) == 0
    app = create_app(archive_env(zhifa_env, generator, seal_p12, ZHIFA_ARCHIVE_DATABASE_URL=pg_url, **s3_env))
    try:                                                         # the file the case file names is still served
        pdf = app.test_client().get(f"/v1/case-files/{case['id']}/pdf", headers=ARCHIVIST)
        import hashlib
        assert pdf.status_code == 200 and hashlib.sha256(pdf.data).hexdigest() == body["seal"]["sha256"]
    finally:
        app.extensions["zhifa.runtime"].close()
