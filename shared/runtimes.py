"""Which runtime a service's job functions work with.

Each service builds one runtime per app (or worker process) and never a
process-wide one for its apps. Job functions, enqueued by dotted path, find
theirs through `current()`: an inline job runs inside `active(runtime)` of
the app that enqueued it (shared.jobs binds it), an RQ worker builds its own
from the environment once.
"""
from __future__ import annotations

import contextvars
import threading
from contextlib import contextmanager
from typing import Callable, Generic, Iterator, TypeVar

from shared import config
from shared.config import Settings

R = TypeVar("R")


class RuntimeContext(Generic[R]):
    def __init__(self, service: str, build: Callable[[Settings], R]):
        self._active: contextvars.ContextVar[R | None] = contextvars.ContextVar(f"zhifa_{service}_runtime",
                                                                               default=None)
        self._build = build
        self._worker: R | None = None
        self._lock = threading.Lock()

    @contextmanager
    def active(self, runtime: R) -> Iterator[R]:
        """Job functions called inside this block use `runtime`."""
        token = self._active.set(runtime)
        try:
            yield runtime
        finally:
            self._active.reset(token)

    def current(self) -> R:
        """The enqueuing app's runtime (inline jobs), else this worker process's own."""
        runtime = self._active.get()
        if runtime is not None:
            return runtime
        with self._lock:
            if self._worker is None:
                self._worker = self._build(config.load())
            return self._worker
