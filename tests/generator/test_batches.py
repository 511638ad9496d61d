"""Batches: inline in the web process, and through real RQ workers on Redis
with PostgreSQL, where 500 documents must come back with 500 distinct numbers."""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from services.generator.catalogue import Catalogue
from tests.conftest import auth

CATALOGUE = Catalogue()
ROOT = Path(__file__).resolve().parents[2]


def entries(n: int, doc_type: str = "rectification_order") -> list[dict]:
    base = copy.deepcopy(CATALOGUE.get(doc_type).example)
    base["issued_on"] = "2026-06-01"
    out = []
    for i in range(n):
        data = copy.deepcopy(base)
        data["party"]["name"] = f"{base['party']['name']}{i + 1}"
        out.append({"type": doc_type, "data": data})
    return out


def submit(client, documents, formats=("docx",)):
    return client.post("/v1/batches", data=json.dumps({"documents": documents, "formats": list(formats)},
                                                      ensure_ascii=False),
                       headers={**auth(), "Content-Type": "application/json"})


def wait_for(client, status_url: str, timeout: float) -> tuple[dict, list[int]]:
    deadline, progress = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        status = client.get(status_url, headers=auth()).get_json()
        progress.append(status["done"])
        if status["status"] in ("done", "partial", "failed"):
            return status, progress
        time.sleep(0.2)
    raise AssertionError(f"batch not finished in {timeout}s: {status}")


def test_inline_batch_issues_every_document(sqlite_generator):
    _, client = sqlite_generator
    resp = submit(client, entries(5))
    assert resp.status_code == 202
    status, _ = wait_for(client, resp.get_json()["status_url"], 60)
    assert status["status"] == "done" and status["total"] == 5 and status["done"] == 5
    numbers = [d["number"] for d in status["documents"]]
    assert numbers == [f"鞍审批责改字〔2026〕{i}号" for i in range(1, 6)]


def test_a_batch_with_one_bad_entry_is_refused_whole(sqlite_generator):
    _, client = sqlite_generator
    docs = entries(3)
    del docs[1]["data"]["party"]["name"]
    docs[2]["type"] = "no_such_type"
    resp = submit(client, docs)
    assert resp.status_code == 422
    paths = [e["path"] for e in resp.get_json()["errors"]]
    assert "documents/1/data/party/name" in paths and "documents/2/type" in paths
    ok = submit(client, entries(1))
    status, _ = wait_for(client, ok.get_json()["status_url"], 60)
    assert status["documents"][0]["number"].endswith("〕1号")     # the refused batch used nothing


def test_rq_workers_issue_500_documents_with_distinct_gapless_numbers(zhifa_env, pg_url, redis_url, tmp_path):
    from services.generator.app import create_app
    # A queue of its own: another test's workers on the shared Redis must not take these jobs.
    settings = zhifa_env(ZHIFA_GENERATOR_DATABASE_URL=pg_url, ZHIFA_REDIS_URL=redis_url,
                         ZHIFA_DEPLOYMENT=f"t{os.getpid()}")
    app = create_app(settings)
    client = app.test_client()
    env = {k: v for k, v in os.environ.items()}
    logs = [open(tmp_path / f"worker{i}.log", "w") for i in range(2)]
    workers = [subprocess.Popen([sys.executable, "-m", "services.cli", "worker", "generator"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT) for log in logs]
    try:
        resp = submit(client, entries(500))
        assert resp.status_code == 202, resp.get_data(as_text=True)
        started = time.monotonic()
        status, progress = wait_for(client, resp.get_json()["status_url"], 420)
        print(f"500 entries in {time.monotonic() - started:.1f} s")
        assert status["status"] == "done", status
        assert status["done"] == 500 and status["failed"] == 0
        numbers = [d["number"] for d in status["documents"]]
        assert len(set(numbers)) == 500
        seqs = sorted(int(n.split("〕")[1].rstrip("号")) for n in numbers)
        assert seqs == list(range(1, 501))
        assert any(0 < p < 500 for p in progress)      # progress was visible while it ran
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)
        for log in logs:
            log.close()
        app.extensions["zhifa.runtime"].close()


def test_inline_batch_left_pending_by_a_restart_is_finished_by_the_next_start(zhifa_env, tmp_path):
    from services.generator.app import create_app
    db = f"sqlite:///{tmp_path / 'g.sqlite3'}"
    app = create_app(zhifa_env(ZHIFA_GENERATOR_DATABASE_URL=db))
    rt = app.extensions["zhifa.runtime"]
    # The process "dies" after accepting the batch: its jobs were handed out to an in-memory queue that is lost.
    rt.outbox.jobs = type("Dropped", (), {"enqueue": lambda *a: None})()
    batch_id = rt.batches.create({"documents": entries(3), "formats": ["docx"]}, "case-system:x")
    rt.close()

    app = create_app(zhifa_env(ZHIFA_GENERATOR_DATABASE_URL=db))
    client = app.test_client()
    try:
        # Not after the 30 s lease: the new process knows the old one's queue is gone.
        status, _ = wait_for(client, f"/v1/batches/{batch_id}", 15)
        assert status["status"] == "done" and status["done"] == 3
    finally:
        app.extensions["zhifa.runtime"].close()


def test_a_conversion_that_keeps_hanging_fails_its_entry_after_one_retry_keeping_numbers_gapless(zhifa_env, tmp_path):
    """Real LibreOffice with a timeout no conversion can meet: each attempt is
    killed; the job is tried twice, then the entry is marked failed. Its
    document stays registered under its number with the PDF marked failed (a
    PDF is a rendition of the stored DOCX), so the next number follows on."""
    from services.generator.app import create_app
    app = create_app(zhifa_env(ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}",
                               ZHIFA_SOFFICE_TIMEOUT="0.001", ZHIFA_SOFFICE_POOL_SIZE="1"))
    client = app.test_client()
    try:
        resp = submit(client, entries(1), formats=("docx", "pdf"))
        status, _ = wait_for(client, resp.get_json()["status_url"], 240)
        assert status["status"] == "failed" and status["failed"] == 1
        entry = status["documents"][0]
        assert entry["number"] == "鞍审批责改字〔2026〕1号" and entry["error"]["title"] == "文书生成失败"
        with app.extensions["zhifa.runtime"].documents.sessions() as s:
            from services.generator.models import BatchItem
            assert s.get(BatchItem, (status["id"], 0)).attempts == 2
        doc = client.get(f"/v1/documents/{entry['id']}", headers=auth()).get_json()
        assert doc["files"]["pdf"]["status"] == "failed" and doc["files"]["docx"]["sha256"]
        pdf = client.get(f"/v1/documents/{entry['id']}/pdf", headers=auth())
        assert pdf.status_code == 503 and pdf.headers["Retry-After"]
        ok = submit(client, entries(1), formats=("docx",))
        status, _ = wait_for(client, ok.get_json()["status_url"], 60)
        assert status["documents"][0]["number"] == "鞍审批责改字〔2026〕2号"   # gapless
    finally:
        app.extensions["zhifa.runtime"].close()
