"""Per-client rate limits for public endpoints (Flask-Limiter).

One limiter per app (no process-wide global), counting in Redis when
ZHIFA_RATELIMIT_STORAGE_URL (or ZHIFA_REDIS_URL) is set, so every process
of a service shares the counts, and in memory otherwise. A client past its
limit gets a 429 problem with Retry-After (shared.web renders it). When
Redis is unreachable, counting falls back to memory rather than refusing
the public.

    ratelimit.limit(app, "generator.verify", settings.verify_rate_limit)
"""
from __future__ import annotations

import threading
import time
import weakref

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import MemoryStorage

from shared.config import Settings

SWEEP_SECONDS = 1.0


class SweptMemoryStorage(MemoryStorage):
    """limits' in-memory counts without a thread per request. Its own storage starts a 10 ms
    Timer thread on a hit whenever the last one has ended, i.e. on nearly every request of a
    public page, and Thread.start waits until the new thread has run: on a busy CPU that wait
    was a large part of a search's time (py-spy, bench/search.py). Here one daemon thread per
    storage expires old counts once a second, and ends when the storage is gone."""

    STORAGE_SCHEME = ["zhifa-memory"]

    def _MemoryStorage__schedule_expiry(self) -> None:   # replaces the Timer the base class starts
        if getattr(self, "_sweeper", None) is None:
            with _SWEEPER_START:
                if getattr(self, "_sweeper", None) is None:
                    self._sweeper = threading.Thread(target=_sweep, args=(weakref.ref(self),),
                                                     name="ratelimit-sweep", daemon=True)
                    self._sweeper.start()

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state.pop("_sweeper", None)
        return state


_SWEEPER_START = threading.Lock()


def _sweep(storage_ref: weakref.ref) -> None:
    while True:
        time.sleep(SWEEP_SECONDS)
        storage = storage_ref()
        if storage is None:
            return
        storage._MemoryStorage__expire_events()
        # The base class empties a client's list but keeps its key: drop it, or every address
        # ever seen would stay in memory.
        for key in [k for k, events in list(storage.events.items()) if not events]:
            with storage.locks[key]:
                if not storage.events.get(key):
                    storage.events.pop(key, None)
            storage.locks.pop(key, None)
        del storage


def install(app: Flask, settings: Settings) -> Limiter:
    """Called by shared.web.create_base_app; limits nothing until `limit`."""
    limiter = Limiter(
        key_func=get_remote_address,   # the socket's peer: waitress drops untrusted X-Forwarded-For
        app=app,
        storage_uri=settings.ratelimit_storage_url or "zhifa-memory://",
        strategy="moving-window",
        headers_enabled=True,
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        key_prefix=f"{settings.deployment}-{app.name}",
    )
    app.extensions["zhifa.limiter"] = limiter
    return limiter


def limit(app: Flask, endpoint: str, rate: str, methods: list[str] | None = None) -> None:
    """Limit one registered endpoint per client, e.g. rate="30 per minute"
    (the `limits` notation), counting only `methods` when given (a sign-in page's
    POST, not its GET). Call after registering the blueprint.

    A caller with a valid API token is not limited: it is one of our services
    or a case system, accountable by its token, and the search service's
    public /verify page would otherwise spend one address's allowance for
    every citizen behind it."""
    limiter: Limiter = app.extensions["zhifa.limiter"]
    keys = app.extensions["zhifa.api_keys"]

    def has_token() -> bool:
        return keys.role(request.headers.get("Authorization")) is not None
    app.view_functions[endpoint] = limiter.limit(rate, exempt_when=has_token, methods=methods)(
        app.view_functions[endpoint])
