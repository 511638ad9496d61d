"""No generator work is stranded by a fault: the PDF job of a document and the
jobs of a batch are recorded in the transaction that registers them (an
outbox, shared/outbox.py). Redis stopped at enqueue time still answers
201/202 with the document, and a real RQ worker finishes everything once
Redis is back; a worker SIGKILLed mid-batch is replaced within a minute,
each entry issued once with gapless numbers; inline mode finishes what a
restart left pending. Real PostgreSQL, a redis-server of our own, real
LibreOffice and `python -m services.cli worker generator` processes."""
from __future__ import annotations

import copy
import os
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from services.generator import runtime
from services.generator.catalogue import Catalogue
from services.generator.models import AuditLog, Document, Outbox
from tests.conftest import auth, start_worker

CATALOGUE = Catalogue()
ASYNC = {"Prefer": "respond-async"}


def body(name: str, formats=("docx", "pdf")) -> dict:
    data = copy.deepcopy(CATALOGUE.get("rectification_order").example)
    data["issued_on"] = "2026-06-01"
    data["party"]["name"] = name
    return {"type": "rectification_order", "data": data, "formats": list(formats)}


def seq(number: str) -> int:
    return int(number.split("〕")[1].strip("第号"))


class Dropped:
    """A queue that loses what it is given: a process that dies with jobs in memory, or Redis restarted empty."""

    def enqueue(self, *args):
        return None


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def make_app(zhifa_env, **env):
    from services.generator.app import create_app
    return create_app(zhifa_env(**env))


def wait_until(check, seconds: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {seconds} s" + (f"\n{log.read_text()[-3000:]}" if log else ""))
        time.sleep(0.2)


def pdf_status(client, document_id: str) -> str:
    return client.get(f"/v1/documents/{document_id}", headers=auth()).get_json()["files"]["pdf"]["status"]


def batch_status(client, batch_id: str) -> dict:
    return client.get(f"/v1/batches/{batch_id}", headers=auth()).get_json()


def registry(app) -> tuple[list[int], int]:
    """The sequence numbers in the registry and how many issues the audit log recorded."""
    with app.extensions["zhifa.runtime"].documents.sessions() as s:
        seqs = sorted(s.execute(select(Document.seq)).scalars())
        issued = s.execute(select(func.count()).select_from(AuditLog)
                           .where(AuditLog.c.action == "document.issued")).scalar()
    return seqs, issued


# --- Redis down at enqueue time ------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.redis
def test_redis_down_at_issue_answers_with_the_document_and_a_worker_finishes_everything_when_it_is_back(
        zhifa_env, pg_url, tmp_path, own_redis):
    app = make_app(zhifa_env, ZHIFA_GENERATOR_DATABASE_URL=pg_url, ZHIFA_REDIS_URL=own_redis.url)
    client = app.test_client()
    rt = app.extensions["zhifa.runtime"]
    worker = None
    try:
        handing_out = rt.outbox.wake

        def outage_then_hand_out():      # Redis dies mid-request: after the commit, before the hand-out
            own_redis.stop()
            rt.outbox.wake = handing_out
            return handing_out()
        rt.outbox.wake = outage_then_hand_out
        # respond-async: answered at once with id, number and the PDF pending; the job is in the outbox.
        resp = client.post("/v1/documents", json=body("鞍山市甲商贸有限公司"), headers={**auth(), **ASYNC})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        later = resp.get_json()
        assert later["id"] and seq(later["number"]) == 1 and later["files"]["pdf"]["status"] == "pending"
        assert own_redis.proc is None
        assert resp.headers["Location"].endswith(f"/v1/documents/{later['id']}")
        # Without respond-async the request makes its PDF itself: no queue needed.
        now = client.post("/v1/documents", json=body("鞍山市乙商贸有限公司"), headers=auth())
        assert now.status_code == 201 and now.get_json()["files"]["pdf"]["status"] == "done"
        # A failed PDF asked for again while the queue is down: 202, pending, recorded.
        failed = client.post("/v1/documents", json=body("鞍山市丙商贸有限公司"), headers={**auth(), **ASYNC}).get_json()
        with transaction_of(app) as s:
            s.execute(update(Document).where(Document.id == failed["id"]).values(pdf_status="failed",
                                                                                 pdf_error="RuntimeError"))
        again = client.post(f"/v1/documents/{failed['id']}/pdf", headers=auth())
        assert again.status_code == 202 and again.get_json()["files"]["pdf"]["status"] == "pending"
        # A batch: accepted with its jobs.
        batch = client.post("/v1/batches", headers=auth(), json={
            "documents": [{k: v for k, v in body(f"鞍山市丁商贸有限公司{i}").items() if k != "formats"}
                          for i in range(3)], "formats": ["docx", "pdf"]})
        assert batch.status_code == 202, batch.get_data(as_text=True)
        batch_id = batch.get_json()["id"]
        assert client.get("/readyz").status_code == 503                  # and the queue says it is down

        time.sleep(6)                                                     # a drain or two fails: nothing lost
        assert pdf_status(client, later["id"]) == "pending"
        assert batch_status(client, batch_id)["status"] == "queued"

        own_redis.start()                                                 # empty: the jobs live in the outbox
        back = time.monotonic()
        worker = start_worker(tmp_path, "worker", own_redis.url, "generator")
        log = tmp_path / "worker.log"
        for document_id in (later["id"], failed["id"]):
            wait_until(lambda: pdf_status(client, document_id) == "done", 90, "the PDF", log)
        status = wait_until(lambda: (s := batch_status(client, batch_id))["status"] == "done" and s, 90,
                            "the batch", log)
        print(f"everything done {time.monotonic() - back:.1f} s after Redis came back")
        pdf = client.get(f"/v1/documents/{later['id']}/pdf", headers=auth())
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
        assert sorted(seq(d["number"]) for d in status["documents"]) == [4, 5, 6]
        assert registry(app) == ([1, 2, 3, 4, 5, 6], 6)                  # every document once, gapless
        with rt.documents.sessions() as s:                                # and no job left behind
            assert s.execute(select(Outbox.c.state).where(Outbox.c.state != "done")).all() == []
    finally:
        stop(worker)
        rt.close()


def transaction_of(app):
    from shared.db import transaction
    return transaction(app.extensions["zhifa.runtime"].documents.sessions)


# --- a worker killed mid-batch ---------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_killed_mid_batch_is_replaced_within_a_minute_each_entry_once_numbers_gapless(
        zhifa_env, pg_url, tmp_path, own_redis):
    app = make_app(zhifa_env, ZHIFA_GENERATOR_DATABASE_URL=pg_url, ZHIFA_REDIS_URL=own_redis.url)
    client = app.test_client()
    rt = app.extensions["zhifa.runtime"]
    first = second = None
    total = 12
    try:
        first = start_worker(tmp_path, "first", own_redis.url, "generator")
        resp = client.post("/v1/batches", headers=auth(), json={
            "documents": [{k: v for k, v in body(f"鞍山市戊商贸有限公司{i}").items() if k != "formats"}
                          for i in range(total)], "formats": ["docx", "pdf"]})
        assert resp.status_code == 202
        batch_id = resp.get_json()["id"]

        def running() -> bool:              # an entry is under way in the worker (its lease held)
            with rt.documents.sessions() as s:
                held = s.execute(select(func.count()).select_from(Outbox).where(
                    Outbox.c.state == "pending", Outbox.c.runner.is_not(None))).scalar()
            return held > 0 and batch_status(client, batch_id)["done"] >= 2
        wait_until(running, 120, "the batch under way", tmp_path / "first.log")
        os.kill(first.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        first.wait(timeout=10)
        left = batch_status(client, batch_id)
        assert left["status"] == "running" and left["done"] < total

        second = start_worker(tmp_path, "second", own_redis.url, "generator")
        status = wait_until(lambda: (s := batch_status(client, batch_id))["status"] in ("done", "partial", "failed")
                            and s, 90, "the batch", tmp_path / "second.log")
        took = time.monotonic() - killed_at
        print(f"batch done {took:.1f} s after the kill ({left['done']} of {total} were done then)")
        assert status["status"] == "done" and status["done"] == total, status
        assert took < 60
        numbers = [seq(d["number"]) for d in status["documents"]]
        assert sorted(numbers) == list(range(1, total + 1))
        assert len({d["id"] for d in status["documents"]}) == total
        assert registry(app) == (list(range(1, total + 1)), total)      # the killed entry was not issued twice
        for entry in status["documents"]:
            assert pdf_status(client, entry["id"]) == "done"
    finally:
        stop(first)
        stop(second)
        rt.close()


# --- inline mode: a restart ------------------------------------------------------------

def test_inline_restart_finishes_pdfs_and_entries_the_previous_process_left_pending(zhifa_env, tmp_path):
    db = f"sqlite:///{tmp_path / 'g.sqlite3'}"
    app = make_app(zhifa_env, ZHIFA_GENERATOR_DATABASE_URL=db)
    rt = app.extensions["zhifa.runtime"]
    client = app.test_client()
    # The process dies with its in-memory queue: everything handed out is lost.
    rt.outbox.jobs = Dropped()
    doc = client.post("/v1/documents", json=body("鞍山市己商贸有限公司"), headers={**auth(), **ASYNC}).get_json()
    batch_id = client.post("/v1/batches", headers=auth(), json={
        "documents": [{k: v for k, v in body(f"鞍山市庚商贸有限公司{i}").items() if k != "formats"}
                      for i in range(2)], "formats": ["docx", "pdf"]}).get_json()["id"]
    # A document registered before the outbox existed: pending, with no job at all.
    legacy = client.post("/v1/documents", json=body("鞍山市辛商贸有限公司"), headers={**auth(), **ASYNC}).get_json()
    with transaction_of(app) as s:
        s.execute(delete(Outbox).where(Outbox.c.args == [legacy["id"]]))
    rt.close()

    app = make_app(zhifa_env, ZHIFA_GENERATOR_DATABASE_URL=db)
    client = app.test_client()
    try:
        started = time.monotonic()
        # Within seconds, not after the old hand-outs' 30 s lease: this process knows that queue is gone.
        for document_id in (doc["id"], legacy["id"]):
            wait_until(lambda: pdf_status(client, document_id) == "done", 25, "the PDF")
        status = wait_until(lambda: (s := batch_status(client, batch_id))["status"] == "done" and s, 25, "the batch")
        print(f"finished {time.monotonic() - started:.1f} s after the restart")
        assert sorted(seq(d["number"]) for d in status["documents"]) == [3, 4]
        assert registry(app) == ([1, 2, 3, 4], 4)
    finally:
        app.extensions["zhifa.runtime"].close()


def test_a_pdf_whose_runs_keep_dying_is_marked_failed_and_can_be_asked_for_again(zhifa_env, tmp_path):
    app = make_app(zhifa_env, ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}")
    rt = app.extensions["zhifa.runtime"]
    client = app.test_client()
    try:
        rt.outbox.jobs = Dropped()
        doc = client.post("/v1/documents", json=body("鞍山市壬商贸有限公司"), headers={**auth(), **ASYNC}).get_json()
        # Five runs that died holding the lease (workers killed mid-conversion).
        with transaction_of(app) as s:
            s.execute(update(Outbox).where(Outbox.c.args == [doc["id"]]).values(
                attempts=rt.outbox.max_attempts, runner="killed",
                lease_until=datetime.now(timezone.utc) - timedelta(seconds=1)))
        rt.outbox.drain()
        # Given up by this drain or by the app's own drain loop, whichever took the row first.
        wait_until(lambda: pdf_status(client, doc["id"]) == "failed", 10, "the PDF given up")  # not "pending" for ever
        assert client.get(f"/v1/documents/{doc['id']}/pdf", headers=auth()).status_code == 503
        rt.outbox.jobs = rt.jobs                                          # the queue works again
        again = client.post(f"/v1/documents/{doc['id']}/pdf", headers=auth())
        assert again.status_code == 202
        wait_until(lambda: pdf_status(client, doc["id"]) == "done", 60, "the PDF asked for again")
        missing = client.post("/v1/documents/00000000-0000-0000-0000-000000000000/pdf", headers=auth())
        assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("application/problem+json")
    finally:
        rt.close()


def test_a_thousand_jobs_never_wait_in_the_queue_past_their_lease(zhifa_env, tmp_path):
    """Only a few rows are handed out and not started at any time; each start hands out the next,
    so a large batch waits in the outbox and no row is counted as abandoned while it queues."""
    from shared.outbox import record
    app = make_app(zhifa_env, ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}")
    rt = app.extensions["zhifa.runtime"]
    try:
        rt.outbox.stop()
        handed: list[str] = []
        rt.outbox.jobs = type("Held", (), {"enqueue": lambda self, path, accessor, entry: handed.append(entry)})()
        with transaction_of(app) as s:
            for i in range(1000):
                record(s, Outbox, "services.generator.tasks.render_pdf", [f"no-such-document-{i}"])
        assert rt.outbox.drain() == rt.outbox.max_unstarted
        assert rt.outbox.drain() == 0                                     # the queue is full: nothing more
        with runtime.active(rt):
            assert rt.outbox.run(handed[0])                               # a run starts: the next is handed out
        assert len(handed) == rt.outbox.max_unstarted + 1
        with rt.documents.sessions() as s:
            # attempts count runs started: handing out (again) is not an attempt
            assert s.execute(select(func.sum(Outbox.c.attempts))).scalar() == 1
    finally:
        rt.close()


@pytest.mark.postgres
def test_two_runs_of_one_batch_entry_at_once_issue_one_document_and_use_one_number(zhifa_env, pg_url):
    """A runner whose lease ran out while it still worked (a stalled worker) and the runner that took
    over both issue the entry: one document, one number, the next number follows on."""
    import threading
    app = make_app(zhifa_env, ZHIFA_GENERATOR_DATABASE_URL=pg_url)
    rt = app.extensions["zhifa.runtime"]
    client = app.test_client()
    try:
        rt.outbox.stop()
        rt.outbox.jobs = Dropped()
        batch_id = rt.batches.create({"documents": [{k: v for k, v in body("鞍山市癸商贸有限公司").items()
                                                     if k != "formats"}], "formats": ["docx"]}, "case-system:x")
        barrier, errors = threading.Barrier(4), []

        def run():
            with runtime.active(rt):
                barrier.wait()
                try:
                    rt.batches.run_item(batch_id, 0)
                except Exception as exc:          # pragma: no cover - reported below
                    errors.append(exc)
        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        status = batch_status(client, batch_id)
        assert status["status"] == "done" and seq(status["documents"][0]["number"]) == 1
        assert registry(app) == ([1], 1)
        after = client.post("/v1/documents", json=body("鞍山市子商贸有限公司", ("docx",)), headers=auth())
        assert seq(after.get_json()["number"]) == 2                          # gapless
    finally:
        rt.close()


class Died(BaseException):
    """The process stops in the middle of the request's own conversion (not an error it can record)."""


def test_a_request_that_dies_making_its_own_pdf_leaves_a_job_the_drain_takes_over(zhifa_env, tmp_path):
    app = make_app(zhifa_env, ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}")
    rt = app.extensions["zhifa.runtime"]
    client = app.test_client()
    try:
        real, rt.renditions.hold_seconds = rt.renditions.converter, 1

        def dies(docx: bytes) -> bytes:
            raise Died()
        rt.renditions.converter = dies
        prepared = rt.documents.prepare(body("鞍山市丑商贸有限公司"))
        with pytest.raises(Died):
            rt.renditions.issue(prepared, "case-system:x", None, "", wait_for_pdf=True)
        doc_id = client.get("/v1/audit", headers=auth("admin")).get_json()["entries"][-1]["subject"]
        assert pdf_status(client, doc_id) == "pending"
        rt.renditions.converter = real
        wait_until(lambda: pdf_status(client, doc_id) == "done", 60, "the PDF taken over by the drain")
        # and a request that does finish its PDF leaves no job behind for anyone
        done = client.post("/v1/documents", json=body("鞍山市寅商贸有限公司"), headers=auth()).get_json()
        assert done["files"]["pdf"]["status"] == "done"
        with rt.documents.sessions() as s:
            assert s.execute(select(Outbox.c.state).where(Outbox.c.args == [done["id"]])).scalar() == "done"
    finally:
        rt.close()


def test_finished_jobs_are_pruned_after_a_week_and_pending_ones_never(zhifa_env, tmp_path):
    from shared.outbox import record
    app = make_app(zhifa_env, ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}")
    rt = app.extensions["zhifa.runtime"]
    try:
        rt.outbox.stop()
        old = datetime.now(timezone.utc) - timedelta(days=8)
        with transaction_of(app) as s:
            ids = {name: record(s, Outbox, "services.generator.tasks.render_pdf", [name])
                   for name in ("old-done", "old-given-up", "recent-done", "old-pending")}
            s.execute(update(Outbox).where(Outbox.c.id.in_([ids["old-done"], ids["old-given-up"]]))
                      .values(state="done", finished_at=old))
            s.execute(update(Outbox).where(Outbox.c.id == ids["old-given-up"]).values(state="given_up"))
            s.execute(update(Outbox).where(Outbox.c.id == ids["recent-done"])
                      .values(state="done", finished_at=datetime.now(timezone.utc) - timedelta(days=6)))
            s.execute(update(Outbox).where(Outbox.c.id == ids["old-pending"]).values(created_at=old, due_at=old))
        assert runtime.prune_outbox(rt.documents.sessions) == 2
        with rt.documents.sessions() as s:
            left = set(s.execute(select(Outbox.c.id)).scalars())
        assert left == {ids["recent-done"], ids["old-pending"]}
    finally:
        rt.close()


def test_a_redis_that_hangs_instead_of_refusing_holds_up_no_answer(zhifa_env, tmp_path):
    """A network partition: connections to Redis open and then nothing comes back. The request
    records its job and answers; only the drain loop's thread waits on the queue."""
    import socket
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)                    # connects succeed from the backlog; no byte is ever answered
    port = silent.getsockname()[1]
    app = make_app(zhifa_env, ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}",
                   ZHIFA_REDIS_URL=f"redis://127.0.0.1:{port}/0")
    rt = app.extensions["zhifa.runtime"]
    client = app.test_client()
    try:
        for i in range(2):
            started = time.monotonic()
            resp = client.post("/v1/documents", json=body(f"鞍山市卯商贸有限公司{i}"), headers={**auth(), **ASYNC})
            assert resp.status_code == 201 and resp.get_json()["files"]["pdf"]["status"] == "pending"
            assert time.monotonic() - started < 3
        started = time.monotonic()
        batch = client.post("/v1/batches", headers=auth(), json={
            "documents": [{k: v for k, v in body("鞍山市辰商贸有限公司").items() if k != "formats"}],
            "formats": ["docx"]})
        assert batch.status_code == 202 and time.monotonic() - started < 3
        with rt.documents.sessions() as s:
            assert s.execute(select(func.count()).select_from(Outbox).where(Outbox.c.state == "pending")).scalar() == 3
    finally:
        silent.close()                   # resets the hung connections: the loop's thread comes back
        rt.close()
