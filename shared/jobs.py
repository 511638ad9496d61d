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
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Callable

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
        if self.redis_url:
            from rq import Retry
            job = self.queue().enqueue(func_path, *args, retry=Retry(max=RETRIES), job_timeout=JOB_TIMEOUT_SECONDS)
            return job.id
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"jobs-{self.service}")
            return self._executor.submit(self._run_inline, func_path, *args)

    def _run_inline(self, func_path: str, *args: Any) -> Any:
        with self._bind():
            return run_with_retry(resolve(func_path), *args)

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
