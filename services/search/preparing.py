"""Preparing publications in other processes: a served search process keeps
its interpreter for searches.

Preparing a publication (text.clean, the JSON Schema, the refusals and, above
all, the redaction and the segmentation of the index fields) is pure Python:
about 5-8 ms of CPU a decision, under the one GIL of the process that also
answers searches. Under a burst of publications a search then waits for the
GIL behind them (its p95 went from ~3 ms in-process to 100-200 ms over HTTP).
A served process (`zhifa serve search`) hands that work to a few spawned
processes (`ZHIFA_SEARCH_PREPARE_PROCESSES`, default: one per CPU, at most
4; 0 keeps it in-process); the web process only parses, waits and stores
(group_commit.py). Same code, same answers: a refusal comes back as the
same Problem; a body with `document_id` (which asks the generator) is
prepared in the web process.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
import time
from datetime import date

from shared.problems import FieldError, Problem

log = logging.getLogger("zhifa.search")

WAIT_SECONDS = 60.0
MAX_PROCESSES = 4
# Publishing may wait for a free core; a citizen's search should not: on a busy host the
# scheduler runs the web process (searches) before these.
NICENESS = 10

_SERVICE = None     # in a worker: a DecisionService without database or index
_ANALYZER = None


def default_processes() -> int:
    return min(MAX_PROCESSES, os.cpu_count() or 1)


def _init() -> None:
    global _SERVICE, _ANALYZER
    from services.search.analysis import Analyzer
    from services.search.decisions import DecisionService
    from services.search.redaction import Redactor
    _ANALYZER = Analyzer()
    _ANALYZER.warm()
    _SERVICE = DecisionService(None, None, Redactor(_ANALYZER))


def _prepare(raw: dict, today: date):
    """("ok", Prepared, index fields) or ("problem", the Problem's parts): an exception
    class with its own fields does not survive pickling as it is."""
    from services.search.decisions import index_values
    from services.search.tantivy_index import fields
    _SERVICE.today = lambda: today
    try:
        prepared = _SERVICE.prepare(raw)
    except Problem as p:
        return "problem", (p.status, p.type, p.title, p.detail, [(e.path, e.message) for e in p.errors])
    doc = index_values(prepared.values)
    return "ok", prepared, (doc, fields(_ANALYZER, doc))


class PreparePool:
    """Spawned processes, each on a pipe of its own that the request thread writes and reads
    itself. (multiprocessing.Pool relays every task through two helper threads of the web
    process, and those wake-ups under the GIL cost as much of its CPU as the preparing it
    took away: 7.9 ms of web-process CPU a publication with the Pool against 8.0 ms preparing
    in-process, by /proc, 600 publications.) A worker that dies is replaced; the request it
    held is prepared by the caller (`WorkerLost`)."""

    def __init__(self, processes: int):
        self.processes = processes
        # spawned, not forked: the web process has threads holding locks
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._closed = False
        self.workers = [self._spawn() for _ in range(processes)]

    def _spawn(self) -> "_Worker":
        here, there = self._ctx.Pipe()
        process = self._ctx.Process(target=_serve, args=(there,), name="zhifa-prepare", daemon=True)
        process.start()
        there.close()
        return _Worker(process, here)

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Every worker has loaded its dictionaries."""
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())) or worker.conn.recv() != "ready":
                raise TimeoutError("a preparing process did not start")
            self._idle.put(worker)

    def prepare(self, raw: dict, today: date):
        """(Prepared, (IndexDoc, index fields)); a refusal raises its Problem here."""
        worker = self._idle.get(timeout=WAIT_SECONDS)
        try:
            worker.conn.send((raw, today))
            if not worker.conn.poll(WAIT_SECONDS):
                raise TimeoutError(f"a preparing process did not answer within {WAIT_SECONDS:.0f} s")
            answer = worker.conn.recv()
        except (OSError, EOFError, TimeoutError) as exc:
            self._replace(worker)
            raise WorkerLost(str(exc) or type(exc).__name__) from exc
        self._idle.put(worker)
        if answer[0] == "problem":
            status, type_, title, detail, errors = answer[1]
            raise Problem(status, type_, title, detail, [FieldError(p, m) for p, m in errors])
        return answer[1], answer[2]

    def _replace(self, lost: "_Worker") -> None:
        """A new worker in the lost one's place, handed out once it is ready (off the request)."""
        lost.stop()
        if self._closed:
            return
        def start() -> None:
            worker = self._spawn()
            self.workers = [w for w in self.workers if w is not lost] + [worker]
            if worker.conn.poll(120.0) and worker.conn.recv() == "ready" and not self._closed:
                self._idle.put(worker)
            else:
                worker.stop()
        threading.Thread(target=start, name="prepare-respawn", daemon=True).start()

    def close(self) -> None:
        # a stopping server must not wait for its helpers
        self._closed = True
        for worker in self.workers:
            worker.stop()


class WorkerLost(RuntimeError):
    """A preparing process died or hung with a request; the caller prepares it itself."""


class _Worker:
    def __init__(self, process, conn):
        self.process, self.conn = process, conn

    def stop(self) -> None:
        self.conn.close()
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(5)


def _serve(conn) -> None:
    """A worker: prepare what comes down the pipe until it closes."""
    os.nice(NICENESS)
    _init()
    conn.send("ready")
    while True:
        try:
            raw, today = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(_prepare(raw, today))
