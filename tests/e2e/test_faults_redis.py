"""Redis unreachable (the test's own redis-server killed: an outage, its queued jobs lost with it).

Which write endpoints need Redis: none. Every background job is recorded in the service's own
database with the change that needs it (shared/outbox.py) and handed to the queue when it is
reachable, so writes answer as usual (201/202) and finish later; rate-limit counters fall back
to memory (no 500, no refusal). What does need Redis says so: /readyz answers 503 naming `jobs`.
Reads keep working. Work accepted before the outage (queued in the Redis that died) and during
it is done once Redis is back (restarted empty) and a worker runs: every document once, numbers
gapless, every PDF made, the case file sealed, the decisions searchable.

`zhifa serve generator|archive|search` and `zhifa worker` as real processes, PostgreSQL for the
generator, real LibreOffice and pyHanko."""
from __future__ import annotations

import copy
import json
import re
import time
import urllib.parse

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from services.generator.catalogue import Catalogue
from services.generator.models import Document, Outbox
from tests.archive import samples
from tests.archive.conftest import LICENSE_CASE
from tests.conftest import TOKENS
from tests.e2e.served import clean_env, is_problem, serve, wait_until, worker

CATALOGUE = Catalogue()
ASYNC = {"Prefer": "respond-async"}


def body(name: str) -> dict:
    data = copy.deepcopy(CATALOGUE.get("rectification_order").example)
    data["party"]["name"] = name
    return {"type": "rectification_order", "data": data}


def seq(number: str) -> int:
    return int(re.search(r"〕第?(\d+)号", number).group(1))


def assert_not_ready_naming_jobs(proc) -> None:
    status, _, answer = proc.call("GET", "/readyz", role=None)
    assert status == 503 and answer["checks"]["jobs"] == "failed" and answer["checks"]["database"] == "ok", answer


@pytest.mark.postgres
@pytest.mark.redis
def test_generator_writes_need_no_redis_reads_and_rate_limited_verify_work_and_nothing_accepted_is_lost(
        tmp_path, pg_url, own_redis):
    env = clean_env(tmp_path, ZHIFA_GENERATOR_DATABASE_URL=pg_url, ZHIFA_REDIS_URL=own_redis.url,
                    ZHIFA_DEPLOYMENT=f"faults{own_redis.port}", ZHIFA_SOFFICE_POOL_SIZE=1,
                    ZHIFA_VERIFY_RATE_LIMIT="1000 per minute")
    generator = serve("generator", tmp_path, env)
    first = second = None
    engine = create_engine(pg_url)
    try:
        generator.wait_ready("/readyz")
        first = worker("generator", tmp_path, env, "first")
        ok = generator.call("POST", "/v1/documents", body("鞍山市甲商贸有限公司"), headers=ASYNC)[2]
        wait_until(lambda: generator.call("GET", f"/v1/documents/{ok['id']}")[2]["files"]["pdf"]["status"] == "done",
                   180, "a PDF through the worker", first)
        first.stop()                                   # nobody takes the queue's jobs now
        # Accepted before the outage: handed to the Redis that is about to die.
        before = generator.call("POST", "/v1/documents", body("鞍山市乙商贸有限公司"), headers=ASYNC)
        batch_before = generator.call("POST", "/v1/batches", {"documents": [body(f"鞍山市丙商贸有限公司{i}")
                                                                            for i in range(3)]})
        assert before[0] == 201 and batch_before[0] == 202, (before, batch_before)
        wait_until(lambda: own_redis_jobs(own_redis) >= 2, 30, "the jobs in Redis", generator)

        own_redis.stop()                               # the outage: Redis and everything queued in it gone
        during = generator.call("POST", "/v1/documents", body("鞍山市丁商贸有限公司"), headers=ASYNC)
        assert during[0] == 201 and during[2]["files"]["pdf"]["status"] == "pending", during
        made_here = generator.call("POST", "/v1/documents", body("鞍山市戊商贸有限公司"))        # makes its own PDF
        assert made_here[0] == 201 and made_here[2]["files"]["pdf"]["status"] == "done", made_here
        batch_during = generator.call("POST", "/v1/batches", {"documents": [body(f"鞍山市己商贸有限公司{i}")
                                                                            for i in range(2)]})
        assert batch_during[0] == 202, batch_during
        # Reads and the public, rate-limited verification keep working.
        doc = before[2]
        assert generator.call("GET", f"/v1/documents/{doc['id']}")[0] == 200
        assert generator.call("GET", f"/v1/documents/{made_here[2]['id']}/pdf")[0] == 200
        assert generator.call("GET", f"/v1/batches/{batch_before[2]['id']}")[0] == 200
        for _ in range(3):
            status, headers, answer = generator.call("GET", "/v1/verify?" + urllib.parse.urlencode(
                {"number": doc["number"], "code": doc["verification_code"]}), role=None)
            assert status == 200 and answer["authentic"] is True, answer
        assert_not_ready_naming_jobs(generator)
        assert generator.call("GET", "/healthz", role=None)[0] == 200
        time.sleep(6)                                  # a drain or two fails meanwhile: nothing lost, nothing given up

        own_redis.start()                              # back, empty
        back = time.monotonic()

        def pending_rows() -> set[str]:
            with engine.connect() as conn:
                return set(conn.execute(select(Outbox.c.id).where(Outbox.c.state == "pending")).scalars())
        assert len(pending_rows()) == 7                # 2 PDFs, 5 batch entries: none given up meanwhile
        # The server's drain loop sees a new Redis and hands out again, within seconds, the jobs that
        # died with the old one (not once their 2-minute dispatch lease ends), with those of the outage.
        wait_until(lambda: pending_rows() <= queued_entries(own_redis, env["ZHIFA_DEPLOYMENT"]), 20,
                   "every pending job queued again", generator)
        second = worker("generator", tmp_path, env, "second")
        pending = [before[2]["id"], during[2]["id"]]
        for doc_id in pending:
            wait_until(lambda: generator.call("GET", f"/v1/documents/{doc_id}")[2]["files"]["pdf"]["status"] == "done",
                       240, "a PDF accepted before or during the outage", second, generator)
        for accepted in (batch_before, batch_during):
            wait_until(lambda: generator.call("GET", f"/v1/batches/{accepted[2]['id']}")[2]["status"] == "done",
                       240, "a batch accepted before or during the outage", second, generator)
        print(f"everything done {time.monotonic() - back:.1f} s after Redis came back")
        wait_until(lambda: generator.call("GET", "/readyz", role=None)[0] == 200, 30, "ready again", generator)
        with engine.connect() as conn:
            seqs = sorted(conn.execute(select(Document.seq)).scalars())
            assert seqs == list(range(1, 10))          # 4 single + 5 batch entries: each once, gapless
            assert set(conn.execute(select(Document.pdf_status)).scalars()) == {"done"}
            assert conn.execute(select(func.count()).select_from(Outbox).where(Outbox.c.state != "done")).scalar() == 0
    finally:
        for proc in (first, second, generator):
            if proc is not None:
                proc.stop()
        engine.dispose()


def queued_entries(server, deployment: str) -> set[str]:
    """The outbox rows whose jobs wait in the generator's queue (shared.outbox.execute(accessor, id))."""
    from redis import Redis
    from rq import Queue
    queue = Queue(f"{deployment}-generator", connection=Redis.from_url(server.url))
    return {job.args[1] for job in queue.get_jobs() if job is not None}


def own_redis_jobs(server) -> int:
    """Jobs waiting in the test's Redis (any RQ queue)."""
    from redis import Redis
    conn = Redis.from_url(server.url)
    return sum(conn.llen(key) for key in conn.scan_iter("rq:queue:*"))


@pytest.mark.redis
def test_archive_and_search_writes_need_no_redis_reads_work_and_a_surviving_worker_seals_once_it_is_back(
        tmp_path, own_redis):
    env = clean_env(tmp_path, ZHIFA_REDIS_URL=own_redis.url, ZHIFA_DEPLOYMENT=f"faults{own_redis.port}",
                    ZHIFA_SEARCH_RATE_LIMIT="1000 per minute")
    archive = serve("archive", tmp_path, env)
    search = serve("search", tmp_path, env)
    hands = None
    try:
        for proc in (archive, search):
            proc.wait_ready("/readyz")
        number = "鞍审批许准字〔2026〕9号"
        status, _, case = archive.call("POST", "/v1/case-files", {**LICENSE_CASE, "decision_number": number},
                                       "archivist")
        assert status == 201, case
        scan = httpx.post(f"{archive.base}/v1/case-files/{case['id']}/items",
                          headers={"Authorization": f"Bearer {TOKENS['archivist']}"},
                          files={"file": ("scan.jpg", samples.scan_jpeg(), "image/jpeg")},
                          data={"meta": json.dumps({"title": "营业执照复印件", "kind": "evidence", "date": "2026-03-02"},
                                                   ensure_ascii=False)}, timeout=120)
        assert scan.status_code == 201, scan.text
        hands = worker("archive", tmp_path, env, "archive-worker")     # lives through the outage

        own_redis.stop()
        # archive: a new case file, and the seal (a background job) accepted with 202
        status, _, other = archive.call("POST", "/v1/case-files", {**LICENSE_CASE, "archive_number": "A012-2026-Y-0008",
                                                                   "decision_number": number}, "archivist")
        assert status == 201, other
        status, _, sealing = archive.call("POST", f"/v1/case-files/{case['id']}/seal",
                                          {"override_reason": "测试：纸质文书另卷归档"}, "archivist")
        assert status == 202 and sealing["status"] == "sealing", sealing
        assert archive.call("GET", "/v1/case-files", role="archivist")[0] == 200
        assert archive.call("GET", f"/v1/case-files/{case['id']}", role="archivist")[0] == 200
        assert_not_ready_naming_jobs(archive)
        # search: publishing and withdrawing need no queue; public, rate-limited search and pages answer
        published = []
        for i in range(2):
            decision = {"number": f"鞍审批罚决字〔2026〕{90 + i}号", "kind": "penalty", "title": "行政处罚决定书",
                        "agency": "鞍山市行政审批局", "party": {"kind": "organization", "name": f"鞍山市红旗商贸有限公司{i}"},
                        "decided_on": "2026-06-01", "summary": "当事人未按规定公示食品经营许可证，经责令改正逾期未改正。",
                        "penalties": [{"kind": "罚款", "amount_yuan": 3000}]}
            status, _, answer = search.call("POST", "/v1/decisions", decision, "publisher")
            assert status == 201, answer
            published.append(decision["number"])
        status, _, withdrawn = search.call("DELETE", f"/v1/decisions/{urllib.parse.quote(published[1])}",
                                           {"reason": "决定已被撤销"}, "publisher")
        assert status == 200, withdrawn
        def found() -> list[str]:
            status, _, answer = search.call("GET", "/v1/search?q=" + urllib.parse.quote("红旗商贸"), role=None)
            assert status == 200, answer
            return [h["number"] for h in answer["hits"]]
        wait_until(lambda: found() == published[:1], 20, "the published decision found", search)   # near real time
        for _ in range(3):
            assert found() == published[:1]
            status, headers, page = search.call("GET", "/?q=" + urllib.parse.quote("红旗商贸"), role=None)
            assert status == 200 and "红旗商贸" in page
        assert_not_ready_naming_jobs(search)
        bad = search.call("GET", "/v1/search?kind=nonsense", role=None)          # problems stay problems
        assert bad[0] == 422 and is_problem(bad[1], bad[2], 422)
        time.sleep(6)
        status, _, still = archive.call("GET", f"/v1/case-files/{case['id']}", role="archivist")
        assert still["status"] == "sealing"                        # waiting, not given up

        own_redis.start()
        back = time.monotonic()
        # The same worker, reconnected (RQ retries with a growing pause, at most 60 s), seals it.
        sealed = wait_until(lambda: (c := archive.call("GET", f"/v1/case-files/{case['id']}", role="archivist")[2])
                            ["status"] != "sealing" and c, 240, "the seal", hands, archive)
        print(f"sealed {time.monotonic() - back:.1f} s after Redis came back")
        assert sealed["status"] == "sealed", sealed
        assert hands.alive()
        status, headers, _ = archive.call("GET", f"/v1/case-files/{case['id']}/pdf", role="archivist")
        assert status == 200 and headers["Content-Type"] == "application/pdf"
        wait_until(lambda: archive.call("GET", "/readyz", role=None)[0] == 200, 30, "archive ready again", archive)
        wait_until(lambda: search.call("GET", "/readyz", role=None)[0] == 200, 30, "search ready again", search)
    finally:
        for proc in (hands, archive, search):
            if proc is not None:
                proc.stop()


@pytest.mark.redis
def test_the_daily_expiry_sweep_that_a_dead_redis_refused_is_queued_once_it_is_back_not_tomorrow(
        zhifa_env, tmp_path, own_redis):
    """The search service's one scheduled job: the process that claims the day enqueues the sweep.
    Redis down at that moment used to leave the day claimed and the sweep never queued."""
    from redis import Redis
    from rq import Queue

    from services.search.app import create_app
    deployment = f"faults{own_redis.port}"
    app = create_app(zhifa_env(ZHIFA_SEARCH_DATABASE_URL=f"sqlite:///{tmp_path / 's.sqlite3'}",
                               ZHIFA_REDIS_URL=own_redis.url, ZHIFA_DEPLOYMENT=deployment))
    rt = app.extensions["zhifa.runtime"]
    try:
        own_redis.stop()
        with pytest.raises(Exception):
            rt.sweeper.tick()                          # logged by the timer, which tries again in a minute
        own_redis.start()
        assert rt.sweeper.tick() is True               # the day was not left claimed: queued now
        assert rt.sweeper.tick() is False              # and once only
        queue = Queue(f"{deployment}-search", connection=Redis.from_url(own_redis.url))
        assert [job.func_name for job in queue.get_jobs()] == ["services.search.tasks.sweep_expired"]
    finally:
        rt.close()
