"""One request id from a request to the jobs it starts (inline and on an RQ
worker), log lines as JSON objects, and the jobs' figures on /metrics."""
from __future__ import annotations

import json
import logging

from shared import logs
from shared.jobs import Jobs, worker_class
from tests.conftest import auth

log = logging.getLogger("zhifa.test.tracing")


def job_that_logs(word: str) -> str:
    log.info("job says %s", word)
    return word


def job_that_fails() -> None:
    raise RuntimeError("broken on purpose")


def test_a_log_record_is_one_json_object_with_the_request_id():
    token = logs.request_id.set("req-42")
    try:
        record = logging.LogRecord("zhifa.x", logging.WARNING, __file__, 1, "参数 %s 有误", ("甲",), None)
        logs.RequestIdFilter().filter(record)
        line = logs.JsonFormatter().format(record)
    finally:
        logs.request_id.reset(token)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["request_id"] == "req-42" and entry["message"] == "参数 甲 有误" and entry["level"] == "WARNING"
    assert entry["time"].endswith("+00:00")


class Catch(logging.Handler):
    """Keeps each message of the test's logger with the request id current when it was logged."""

    def __init__(self):
        super().__init__()
        self.seen: list[tuple[str, str]] = []
        self.logger = logging.getLogger("zhifa.test.tracing")

    def emit(self, record):
        self.seen.append((record.getMessage(), logs.request_id.get()))

    def __enter__(self):
        self.logger.addHandler(self)
        self.logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *_):
        self.logger.removeHandler(self)


def test_an_inline_job_runs_under_the_request_id_that_enqueued_it():
    jobs = Jobs("generator", None)
    token = logs.request_id.set("req-inline-1")
    try:
        with Catch() as catch:
            assert jobs.enqueue("tests.shared.test_tracing.job_that_logs", "你好").result(timeout=30) == "你好"
    finally:
        logs.request_id.reset(token)
        jobs.shutdown()
    assert catch.seen == [("job says 你好", "req-inline-1")]
    assert jobs.figures.read()["job_that_logs|finished"] == 1


def test_an_rq_job_runs_under_the_request_id_and_its_figures_reach_the_web_processes_metrics(own_redis, zhifa_env):
    from redis import Redis
    from rq import Queue

    from shared.web import create_base_app, observe_jobs
    jobs = Jobs("generator", own_redis.url, "tracing")
    token = logs.request_id.set("req-rq-7")
    try:
        jobs.enqueue("tests.shared.test_tracing.job_that_logs", "rq")
        jobs.enqueue("tests.shared.test_tracing.job_that_fails")
    finally:
        logs.request_id.reset(token)
    conn = Redis.from_url(own_redis.url)
    worker = worker_class()([Queue(jobs.queue_name, connection=conn)], connection=conn)
    with Catch() as catch:
        worker.work(burst=True)
        worker.work(burst=True)        # the failed job's retry (RQ queues it again at once)
    seen = catch.seen
    assert ("job says rq", "req-rq-7") in seen

    app = create_base_app("generator", zhifa_env(), {}, {})
    observe_jobs(app, jobs)
    text = app.test_client().get("/metrics", headers=auth("admin")).get_data(as_text=True)
    assert 'zhifa_jobs_total{job="job_that_logs",outcome="finished",service="generator"} 1.0' in text
    assert 'zhifa_jobs_total{job="job_that_fails",outcome="failed",service="generator"} 1.0' in text
    assert 'zhifa_job_seconds_total{job="job_that_logs",service="generator"}' in text
    assert 'zhifa_jobs_queued{service="generator"} 0.0' in text
    assert app.test_client().get("/metrics").status_code == 401
