"""Background jobs: RQ on Redis when ZHIFA_REDIS_URL is set, inline otherwise.

The same module-level job functions run either way. Inline mode runs them on
one background thread of the web process (so a 202 answer is honest and the
caller polls progress the same way), with the same single retry RQ gets.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

log = logging.getLogger("zhifa.jobs")

JOB_TIMEOUT_SECONDS = 600
RETRIES = 1


def queue_name(service: str) -> str:
    return f"zhifa-{service}"


class Jobs:
    def __init__(self, service: str, redis_url: str | None):
        self.service = service
        self.redis_url = redis_url
        self._queue = None
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def mode(self) -> str:
        return "rq" if self.redis_url else "inline"

    def queue(self):
        if self._queue is None:
            from redis import Redis
            from rq import Queue
            self._queue = Queue(queue_name(self.service), connection=Redis.from_url(self.redis_url))
        return self._queue

    def enqueue(self, func: Callable[..., Any], *args: Any) -> str | Future:
        if self.redis_url:
            from rq import Retry
            job = self.queue().enqueue(func, *args, retry=Retry(max=RETRIES), job_timeout=JOB_TIMEOUT_SECONDS)
            return job.id
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"jobs-{self.service}")
        return self._executor.submit(_run_with_retry, func, *args)

    def ping(self) -> None:
        if self.redis_url:
            self.queue().connection.ping()

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def _run_with_retry(func: Callable[..., Any], *args: Any) -> Any:
    for attempt in range(RETRIES + 1):
        try:
            return func(*args)
        except Exception:
            log.exception("inline job %s%r failed (attempt %d)", func.__name__, args, attempt + 1)
            if attempt == RETRIES:
                raise
