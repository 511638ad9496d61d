"""Background jobs: RQ on Redis when ZHIFA_REDIS_URL is set, inline otherwise.

Jobs are named by dotted path ("services.generator.tasks.render_pdf"), as RQ
enqueues them, so the module that enqueues never imports the job functions
(and the runtime they use). Inline mode runs them on one background thread
of the web process (so a 202 answer is honest and the caller polls progress
the same way), with the same single retry RQ gets, inside the context of the
app that enqueued them (`bind`): two apps in one process never run each
other's jobs against the wrong database.
"""
from __future__ import annotations

import importlib
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Callable

from shared import logs

log = logging.getLogger("zhifa.jobs")

JOB_TIMEOUT_SECONDS = 600
RETRIES = 1


def queue_name(service: str, deployment: str = "zhifa") -> str:
    """`<deployment>-<service>`: two deployments on one Redis never share a queue."""
    return f"{deployment}-{service}"


def resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


class Jobs:
    def __init__(self, service: str, redis_url: str | None, deployment: str = "zhifa",
                 bind: Callable[[], AbstractContextManager] | None = None):
        self.service = service
        self.redis_url = redis_url
        self.deployment = deployment
        self._bind = bind or nullcontext
        self._queue = None
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def mode(self) -> str:
        return "rq" if self.redis_url else "inline"

    @property
    def queue_name(self) -> str:
        return queue_name(self.service, self.deployment)

    def queue(self):
        if self._queue is None:
            from redis import Redis
            from rq import Queue
            self._queue = Queue(self.queue_name, connection=Redis.from_url(self.redis_url))
        return self._queue

    def enqueue(self, func_path: str, *args: Any) -> str | Future:
        # The request id of the request that asked for the job goes with it, into the worker's log lines.
        request_id = logs.request_id.get()
        if self.redis_url:
            from rq import Retry
            job = self.queue().enqueue(func_path, *args, retry=Retry(max=RETRIES), job_timeout=JOB_TIMEOUT_SECONDS,
                                       meta={"request_id": request_id} if request_id != "-" else None)
            return job.id
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"jobs-{self.service}")
            return self._executor.submit(self._run_inline, request_id, func_path, *args)

    def _run_inline(self, request_id: str, func_path: str, *args: Any) -> Any:
        token = logs.request_id.set(request_id)
        started, outcome = time.perf_counter(), "failed"
        try:
            with self._bind():
                result = run_with_retry(resolve(func_path), *args)
            outcome = "finished"
            return result
        finally:
            self.figures.record(func_path, outcome, time.perf_counter() - started)
            logs.request_id.reset(token)

    @property
    def figures(self) -> "JobFigures":
        """Jobs run, by job and outcome, and seconds spent: this process's (inline), or every
        worker's for this queue (RQ: the workers add them up in Redis)."""
        if getattr(self, "_figures", None) is None:
            self._figures = JobFigures(self.queue_name, self.queue().connection if self.redis_url else None)
        return self._figures

    def server_id(self) -> str | None:
        """Which queue server runs now: Redis's run_id, new at each start (None inline). A new one
        may have started empty, without the jobs handed to the one before (shared.outbox)."""
        if not self.redis_url:
            return None
        return self.queue().connection.info("server").get("run_id")

    def ping(self) -> None:
        if self.redis_url:
            self.queue().connection.ping()

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking jobs; queued inline jobs that have not started are dropped
        (their state is in the database and resumes at the next start)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=True)


def run_with_retry(func: Callable[..., Any], *args: Any) -> Any:
    for attempt in range(RETRIES + 1):
        try:
            return func(*args)
        except Exception:
            log.exception("inline job %s%r failed (attempt %d)", func.__name__, args, attempt + 1)
            if attempt == RETRIES:
                raise


class JobFigures:
    """Per job (the function's name) and outcome: how many ran and the seconds they took.
    Kept in memory for inline jobs, in one Redis hash per queue for RQ workers (so the web
    process's /metrics shows what every worker did)."""

    def __init__(self, queue_name: str, redis=None):
        self.key = f"{queue_name}:job-figures"
        self.redis = redis
        self._local: dict[str, float] = {}
        self._lock = threading.Lock()

    def record(self, func_path: str, outcome: str, seconds: float) -> None:
        job = func_path.rpartition(".")[2]
        try:
            if self.redis is not None:
                pipe = self.redis.pipeline(transaction=False)
                pipe.hincrby(self.key, f"{job}|{outcome}", 1)
                pipe.hincrbyfloat(self.key, f"{job}|seconds", seconds)
                pipe.execute()
                return
        except Exception:       # figures are not worth failing a job for
            log.warning("could not record job figures", exc_info=True)
            return
        with self._lock:
            self._local[f"{job}|{outcome}"] = self._local.get(f"{job}|{outcome}", 0) + 1
            self._local[f"{job}|seconds"] = self._local.get(f"{job}|seconds", 0.0) + seconds

    def read(self) -> dict[str, float]:
        if self.redis is not None:
            return {k.decode(): float(v) for k, v in self.redis.hgetall(self.key).items()}
        with self._lock:
            return dict(self._local)


def worker_class():
    """RQ's SimpleWorker, running each job under the request id it was enqueued with
    (`job-<id>` when none) and adding its outcome and time to the queue's figures."""
    from rq import SimpleWorker

    class TracedWorker(SimpleWorker):
        def execute_job(self, job, queue):
            token = logs.request_id.set((job.meta or {}).get("request_id") or f"job-{job.id}")
            started = time.perf_counter()
            try:
                super().execute_job(job, queue)
            finally:
                try:
                    status = job.get_status(refresh=True)
                    outcome = getattr(status, "value", str(status))
                except Exception:       # the job's record is gone: it ran, its outcome unknown
                    outcome = "unknown"
                JobFigures(queue.name, queue.connection).record(job.func_name, outcome, time.perf_counter() - started)
                logs.request_id.reset(token)
    return TracedWorker
