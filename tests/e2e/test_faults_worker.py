"""A generator worker SIGKILLed in the middle of a batch of 40 documents (two kinds, DOCX and
PDF): once another worker starts, the batch completes with every document issued exactly once,
each kind's numbers gapless and unique, every PDF made, and no job left behind.

`zhifa serve generator` and `zhifa worker generator` as real processes, PostgreSQL, a
redis-server of the test's own, real LibreOffice."""
from __future__ import annotations

import copy
import re
import time

import pytest
from sqlalchemy import create_engine, func, select

from services.generator.catalogue import Catalogue
from services.generator.models import AuditLog, Document, Outbox
from tests.e2e.served import clean_env, serve, wait_until, worker

CATALOGUE = Catalogue()
KINDS = ("rectification_order", "penalty_decision")
TOTAL = 40


def entry(i: int) -> dict:
    doc_type = KINDS[i % 2]
    data = copy.deepcopy(CATALOGUE.get(doc_type).example)
    data["party"]["name"] = f"鞍山市第{i}商贸有限公司"
    return {"type": doc_type, "data": data}


def seq(number: str) -> int:
    return int(re.search(r"〕第?(\d+)号", number).group(1))


@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_killed_mid_batch_of_40_the_batch_completes_after_a_restart_each_once_numbers_gapless(
        tmp_path, pg_url, own_redis):
    env = clean_env(tmp_path, ZHIFA_GENERATOR_DATABASE_URL=pg_url, ZHIFA_REDIS_URL=own_redis.url,
                    ZHIFA_DEPLOYMENT=f"faults{own_redis.port}", ZHIFA_SOFFICE_POOL_SIZE=1)
    generator = serve("generator", tmp_path, env)
    first = second = None
    engine = create_engine(pg_url)
    try:
        generator.wait_ready("/readyz")
        first = worker("generator", tmp_path, env, "first")
        status, _, answer = generator.call("POST", "/v1/batches", {"documents": [entry(i) for i in range(TOTAL)],
                                                                  "formats": ["docx", "pdf"]})
        assert status == 202, answer
        batch_url = f"/v1/batches/{answer['id']}"

        def batch() -> dict:
            return generator.call("GET", batch_url)[2]

        def held() -> int:                   # entries running in the worker now (their lease held)
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(Outbox).where(
                    Outbox.c.state == "pending", Outbox.c.runner.is_not(None))).scalar()
        wait_until(lambda: batch()["done"] >= 5, 300, "the batch under way", first, generator)
        # Kill it while it runs an entry (not between two): the lease is looked at a few ms before.
        wait_until(held, 60, "an entry running", first, poll=0.01)
        first.kill()                         # SIGKILL: no chance to finish or release anything
        killed_at = time.monotonic()
        left = batch()
        assert held() == 1                   # the entry the dead worker was running, still held by it
        assert left["status"] == "running" and left["done"] < TOTAL, left

        second = worker("generator", tmp_path, env, "second")
        final = wait_until(lambda: (b := batch())["status"] in ("done", "partial", "failed") and b, 600,
                           "the batch finished", second, generator)
        print(f"batch done {time.monotonic() - killed_at:.1f} s after the kill ({left['done']} of {TOTAL} were done)")
        assert final["status"] == "done" and final["done"] == TOTAL, final
        ids = [d["id"] for d in final["documents"]]
        assert len(set(ids)) == TOTAL
        for doc_type in KINDS:
            numbers = [seq(d["number"]) for d in final["documents"] if d["type"] == doc_type]
            assert sorted(numbers) == list(range(1, TOTAL // 2 + 1)), (doc_type, numbers)
        with engine.connect() as conn:
            # exactly once: no document issued twice for the entry the killed worker was running
            assert conn.execute(select(func.count()).select_from(Document.__table__)).scalar() == TOTAL
            assert conn.execute(select(func.count()).select_from(AuditLog).where(
                AuditLog.c.action == "document.issued")).scalar() == TOTAL
            assert set(conn.execute(select(Document.pdf_status)).scalars()) == {"done"}
            assert conn.execute(select(Outbox.c.state).where(Outbox.c.state != "done")).all() == []
            # the entry the killed worker was running was started again, and issued once
            assert conn.execute(select(func.max(Outbox.c.attempts))).scalar() >= 2
        for doc_id in ids[:2] + ids[-2:]:
            status, headers, _ = generator.call("GET", f"/v1/documents/{doc_id}/pdf")
            assert status == 200 and headers["Content-Type"] == "application/pdf"
    finally:
        for proc in (first, second, generator):
            if proc is not None:
                proc.stop()
        engine.dispose()
