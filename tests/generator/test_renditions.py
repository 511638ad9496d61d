"""The PDF as a rendition made after the number: nothing waits on LibreOffice
but the request that asked for it. Real LibreOffice, real SQLite/PostgreSQL."""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from services.generator import runtime as runtime_module
from services.generator.batches import BatchItemMissing
from services.generator.models import Document
from tests.conftest import auth
from tests.generator.test_api import example, issuable_example, post


def _soffice_pids(app) -> list[int]:
    pool = app.extensions["zhifa.runtime"].pdf.pool()
    return [pid for pid in (m.soffice_pid() for m in pool.members) if pid]


def test_a_hung_conversion_holds_up_no_other_request(zhifa_env, database_url):
    """LibreOffice frozen (SIGSTOP) in the middle of one request's PDF: a
    document of the same kind is still numbered at once and the public
    verification still answers; the frozen request ends with its PDF pending."""
    from services.generator.app import create_app
    app = create_app(zhifa_env(ZHIFA_GENERATOR_DATABASE_URL=database_url, ZHIFA_SOFFICE_POOL_SIZE="1",
                               ZHIFA_SOFFICE_TIMEOUT="8"))
    client = app.test_client()
    rt = app.extensions["zhifa.runtime"]
    try:
        rt.pdf.pool().warm()
        body = {"type": "penalty_decision", "data": example("penalty_decision")}
        frozen = _soffice_pids(app)
        assert frozen
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        slow: dict = {}
        worker = threading.Thread(target=lambda: slow.update(resp=post(app.test_client(), body)))
        worker.start()
        time.sleep(1.0)                                   # the first request is inside the conversion

        started = time.monotonic()
        quick = post(client, {**body, "formats": ["docx"]})
        assert quick.status_code == 201, quick.get_data(as_text=True)
        doc = quick.get_json()
        verified = client.get("/v1/verify", query_string={"number": doc["number"], "code": doc["verification_code"]})
        assert verified.get_json()["authentic"] is True
        assert time.monotonic() - started < 3, "a request waited on another's PDF conversion"

        worker.join(60)
        for pid in frozen:                                # (killed by the timeout by now)
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        first = slow["resp"].get_json()
        assert slow["resp"].status_code == 201
        assert {first["number"], doc["number"]} == {"鞍审批罚决字〔2026〕1号", "鞍审批罚决字〔2026〕2号"}
        assert first["files"]["pdf"]["status"] in ("pending", "done", "failed")
        # the retry job (inline) makes it from the stored DOCX, under the same number
        pdf = client.get(f"/v1/documents/{first['id']}/pdf?wait=30", headers=auth())
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
        again = client.get(f"/v1/documents/{first['id']}", headers=auth()).get_json()
        assert again["number"] == first["number"] and again["files"]["pdf"]["status"] == "done"
    finally:
        rt.close()


def test_respond_async_answers_before_the_pdf_and_the_client_can_wait(sqlite_generator):
    _, client = sqlite_generator
    body = {"type": "rectification_order", "data": example("rectification_order")}
    resp = post(client, body, headers={"Prefer": "respond-async"})
    assert resp.status_code == 201
    doc = resp.get_json()
    assert doc["files"]["docx"]["sha256"] and doc["files"]["pdf"]["status"] in ("pending", "done")
    pdf = client.get(f"/v1/documents/{doc['id']}/pdf?wait=30", headers=auth())
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    done = client.get(f"/v1/documents/{doc['id']}", headers=auth()).get_json()["files"]["pdf"]
    assert done["status"] == "done" and len(done["sha256"]) == 64
    bad_wait = client.get(f"/v1/documents/{doc['id']}/pdf?wait=999", headers=auth())
    assert bad_wait.status_code == 422 and bad_wait.get_json()["errors"][0]["path"] == "wait"


def test_two_apps_in_one_process_keep_to_their_own_databases(zhifa_env, tmp_path):
    """Each app has its own runtime: issuing through one, and its inline batch
    jobs, never touch the other's database."""
    from services.generator.app import create_app
    one = create_app(zhifa_env(ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'one.sqlite3'}"))
    two = create_app(zhifa_env(ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'two.sqlite3'}"))
    try:
        body = {"type": "rectification_order", "data": example("rectification_order"), "formats": ["docx"]}
        assert post(one.test_client(), body).get_json()["number"].endswith("〕1号")
        batch = one.test_client().post("/v1/batches", headers=auth(), json={
            "documents": [{"type": "rectification_order", "data": example("rectification_order")}] * 2,
            "formats": ["docx"]})
        assert batch.status_code == 202
        status = {}
        for _ in range(100):
            status = one.test_client().get(batch.get_json()["status_url"].split("8001", 1)[1], headers=auth()).get_json()
            if status["status"] == "done":
                break
            time.sleep(0.1)
        assert [d["number"] for d in status["documents"]] == ["鞍审批责改字〔2026〕2号", "鞍审批责改字〔2026〕3号"]
        # the second app numbers from 1: nothing of the first reached its database
        assert post(two.test_client(), body).get_json()["number"].endswith("〕1号")
    finally:
        one.extensions["zhifa.runtime"].close()
        two.extensions["zhifa.runtime"].close()


def test_a_job_for_a_batch_entry_this_database_lacks_fails_loudly(sqlite_generator):
    """Two deployments on one Redis would take each other's jobs: such a job
    must fail (and stay in RQ's failed registry), not pass as done."""
    from services.generator import tasks
    app, _ = sqlite_generator
    with runtime_module.active(app.extensions["zhifa.runtime"]):
        with pytest.raises(BatchItemMissing):
            tasks.issue_batch_item("00000000-0000-0000-0000-000000000000", 0)


def test_queue_names_carry_the_deployment(zhifa_env, tmp_path):
    settings = zhifa_env(ZHIFA_DEPLOYMENT="city-b", ZHIFA_REDIS_URL="redis://127.0.0.1:6379/15",
                         ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}")
    rt = runtime_module.build(settings)
    try:
        assert rt.jobs.queue_name == "city-b-generator"
    finally:
        rt.close()


def test_each_process_gets_its_own_libreoffice_directory_and_stale_ones_go(zhifa_env, tmp_path):
    settings = zhifa_env()
    root = settings.service_dir("generator") / "soffice"
    stale = root / "999999999-dead"
    (stale / "member-0" / "profile").mkdir(parents=True)
    mine, again = runtime_module.soffice_work_dir(settings), runtime_module.soffice_work_dir(settings)
    assert mine != again and mine.name.startswith(f"{os.getpid()}-")
    assert not stale.exists()


def test_documents_print_the_public_verification_address(zhifa_env, tmp_path):
    from services.generator.app import create_app
    app = create_app(zhifa_env(ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}",
                               ZHIFA_GENERATOR_URL="http://10.0.0.5:8001",
                               ZHIFA_PUBLIC_VERIFY_URL="https://zwfw.anshan.example.gov.cn/zhifa/verify"))
    try:
        client = app.test_client()
        doc = post(client, {"type": "penalty_decision", "data": example("penalty_decision"), "formats": ["docx"]},
                   headers={"Host": "evil.example"}).get_json()
        assert doc["files"]["docx"]["url"].startswith("http://10.0.0.5:8001/v1/documents/")   # not the Host header
        from tests.generator.test_api import docx_text
        text = docx_text(client, doc["id"]).replace("\u200b", "").replace("\u2060", "")
        assert "zwfw.anshan.example.gov.cn/zhifa/verify" in text and "10.0.0.5" not in text
    finally:
        app.extensions["zhifa.runtime"].close()


def test_a_request_chooses_among_configured_agencies_but_cannot_invent_one(zhifa_env, tmp_path):
    from services.generator.agency import DEMO_PROFILE
    from services.generator.app import create_app
    demo = json.loads(DEMO_PROFILE.read_text(encoding="utf-8"))
    county = {**demo, "name": "鞍山市铁西区行政审批局", "alias": "鞍山市铁西区行政审批局",
              "short_name": "铁西审批", "reconsideration_body": "鞍山市铁西区人民政府", "court": "鞍山市铁西区人民法院"}
    agency_file = tmp_path / "agencies.json"
    agency_file.write_text(json.dumps({"default": "city", "profiles": {"city": demo, "tiexi": county}},
                                      ensure_ascii=False), encoding="utf-8")
    app = create_app(zhifa_env(ZHIFA_AGENCY_FILE=agency_file,
                               ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}"))
    try:
        client = app.test_client()
        data = example("penalty_decision")
        data["agency"] = {"profile": "tiexi", "phone": "0412-7654321"}
        doc = post(client, {"type": "penalty_decision", "data": data, "formats": ["docx"]}).get_json()
        assert doc["number"] == "铁西审批罚决字〔2026〕1号" and doc["agency"] == "鞍山市铁西区行政审批局"
        from tests.generator.test_api import docx_text
        text = docx_text(client, doc["id"])
        assert "0412-7654321" in text and "向鞍山市铁西区人民政府申请行政复议" in text

        data["agency"] = {"profile": "nowhere"}
        unknown = post(client, {"type": "penalty_decision", "data": data})
        assert unknown.status_code == 422 and unknown.get_json()["errors"][0]["path"] == "data/agency/profile"
        data["agency"] = {"name": "某某伪造局", "court": "某某人民法院"}
        forged = post(client, {"type": "penalty_decision", "data": data})
        assert forged.status_code == 422
        assert {e["path"] for e in forged.get_json()["errors"]} & {"data/agency/name", "data/agency"}
        with app.extensions["zhifa.runtime"].documents.sessions() as s:
            assert s.query(Document).count() == 1     # refusals used no number
    finally:
        app.extensions["zhifa.runtime"].close()


def test_a_service_receipt_names_only_a_number_the_registry_issued(sqlite_generator):
    _, client = sqlite_generator
    data = issuable_example(client, "service_receipt")
    data["service"]["document_title"] = "随意填写的标题"
    ok = post(client, {"type": "service_receipt", "data": data, "formats": ["docx"]})
    assert ok.status_code == 201
    from tests.generator.test_api import docx_text
    text = docx_text(client, ok.get_json()["id"])
    assert "行政处罚决定书" in text and "随意填写的标题" not in text
    data["service"]["document_number"] = "鞍审批罚决字〔2026〕第99号"
    refused = post(client, {"type": "service_receipt", "data": data})
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["path"] == "data/service/document_number"


def _pdf_text(pdf: bytes) -> str:
    import subprocess
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def test_the_pdf_starts_before_the_docx_is_stored_and_is_kept_only_under_the_registered_number(sqlite_generator):
    """LibreOffice starts on the rendered DOCX while it is stored and committed; the
    PDF is stored after the commit, so the number is registered before its PDF."""
    app, client = sqlite_generator
    rt = app.extensions["zhifa.runtime"]
    real_convert, real_put = rt.renditions.converter, rt.documents.blobs.put
    converting, stored_pdfs = threading.Event(), []

    def watched_convert(docx):
        converting.set()
        return real_convert(docx)

    def watched_put(data):
        if data.startswith(b"%PDF-"):
            with rt.documents.sessions() as session:        # committed state, seen from outside
                stored_pdfs.append(session.query(Document).count())
        else:                                                 # the DOCX: the conversion is already under way
            assert converting.wait(10), "the conversion waited for the DOCX to be stored"
        return real_put(data)

    rt.renditions.converter, rt.documents.blobs.put = watched_convert, watched_put
    resp = post(client, {"type": "penalty_decision", "data": example("penalty_decision")})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    doc = resp.get_json()
    assert doc["files"]["pdf"]["status"] == "done"
    assert stored_pdfs == [1], "the PDF was stored before its document was registered"
    pdf = client.get(f"/v1/documents/{doc['id']}/pdf", headers=auth()).data
    assert doc["number"] in _pdf_text(pdf).replace(" ", "")


def test_an_issue_that_rolls_back_keeps_no_pdf_and_no_number(sqlite_generator):
    """The early conversion of a DOCX whose transaction failed is thrown away: no
    PDF stored, the number taken again by the next document, whose PDF prints it."""
    app, client = sqlite_generator
    rt = app.extensions["zhifa.runtime"]
    real_convert, real_put, real_record = rt.renditions.converter, rt.documents.blobs.put, rt.renditions.record_job
    conversions, pdfs_stored = [], []

    def slow_convert(docx):
        conversions.append(docx)
        time.sleep(0.5)           # still converting when the transaction fails
        return real_convert(docx)

    def watched_put(data):
        if data.startswith(b"%PDF-"):
            pdfs_stored.append(data)
        return real_put(data)

    def failing_record(*args, **kwargs):
        raise RuntimeError("the database went away in the middle of the transaction")

    rt.renditions.converter, rt.documents.blobs.put = slow_convert, watched_put
    rt.renditions.record_job = failing_record
    app.config["PROPAGATE_EXCEPTIONS"] = False
    body = {"type": "penalty_decision", "data": example("penalty_decision")}
    failed = post(client, body)
    assert failed.status_code == 500 and conversions, "the conversion had not started early"
    time.sleep(2)                 # the discarded conversion has finished by now
    assert pdfs_stored == []
    with rt.documents.sessions() as session:
        assert session.query(Document).count() == 0

    rt.renditions.record_job = real_record
    resp = post(client, body)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    doc = resp.get_json()
    assert doc["number"].endswith("〕1号") and doc["files"]["pdf"]["status"] == "done"
    assert len(pdfs_stored) == 1 and doc["number"] in _pdf_text(pdfs_stored[0]).replace(" ", "")


def test_a_pdf_whose_file_cannot_be_written_is_never_registered_as_done(sqlite_generator):
    """The PDF's file is written while its row is updated; the row commits only once
    the file is on disk. A full disk (simulated: the machine's disk cannot be filled
    for a test) leaves the PDF pending with no "document.pdf" audit entry; made
    again afterwards, the registered digest and size are those of the file served."""
    import errno
    import hashlib

    from services.generator.models import AuditLog
    app, client = sqlite_generator
    rt = app.extensions["zhifa.runtime"]
    real_put = rt.documents.blobs.put

    def full_disk(data):
        if data.startswith(b"%PDF-"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_put(data)

    rt.documents.blobs.put = full_disk
    resp = post(client, {"type": "penalty_decision", "data": example("penalty_decision")})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    doc = resp.get_json()
    assert doc["files"]["pdf"]["status"] == "pending"
    assert client.get(f"/v1/documents/{doc['id']}/pdf", headers=auth()).status_code == 503
    with rt.documents.sessions() as session:
        assert session.query(AuditLog).filter_by(action="document.pdf").count() == 0

    rt.documents.blobs.put = real_put
    rt.renditions.make(doc["id"])                     # what the outbox's retry does
    again = client.get(f"/v1/documents/{doc['id']}", headers=auth()).get_json()
    pdf = client.get(f"/v1/documents/{doc['id']}/pdf", headers=auth()).data
    assert again["files"]["pdf"]["status"] == "done"
    assert again["files"]["pdf"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert again["files"]["pdf"]["bytes"] == len(pdf)

    # The answer of a request that made its PDF tells the stored file's digest without reading the row back.
    made = post(client, {"type": "penalty_decision", "data": example("penalty_decision")}).get_json()
    served = client.get(f"/v1/documents/{made['id']}/pdf", headers=auth()).data
    assert made["files"]["pdf"] == {**made["files"]["pdf"], "status": "done",
                                    "sha256": hashlib.sha256(served).hexdigest(), "bytes": len(served)}
    with rt.documents.sessions() as session:
        assert session.get(Document, made["id"]).pdf_attempts == 1


def test_the_request_hands_its_docx_to_a_free_libreoffice_before_storing_it(sqlite_generator, monkeypatch):
    """With a LibreOffice free, the request itself sends the rendered DOCX to it (no
    thread in between to wait for) and only then stores the DOCX; the PDF read back
    later is that document's, numbered and registered."""
    from services.generator.pdf import PoolMember
    app, client = sqlite_generator
    rt = app.extensions["zhifa.runtime"]
    rt.pdf.pool().warm()
    events = []
    real_send, real_put = PoolMember.send, rt.documents.blobs.put

    def send(member, docx, deadline):
        events.append(("sent", threading.current_thread().name))
        return real_send(member, docx, deadline)

    def put(data):
        events.append(("stored pdf" if data.startswith(b"%PDF-") else "stored docx", threading.current_thread().name))
        return real_put(data)

    monkeypatch.setattr(PoolMember, "send", send)
    rt.documents.blobs.put = put
    resp = post(client, {"type": "penalty_decision", "data": example("penalty_decision")})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    doc = resp.get_json()
    request = threading.current_thread().name          # the test client runs the request in this thread
    assert events == [("sent", request), ("stored docx", request), ("stored pdf", request)]
    pdf = client.get(f"/v1/documents/{doc['id']}/pdf", headers=auth()).data
    assert doc["files"]["pdf"]["status"] == "done" and doc["number"] in _pdf_text(pdf).replace(" ", "")
    assert rt.pdf.pool()._free.qsize() == rt.pdf.pool().size     # the member is back
