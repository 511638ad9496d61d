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
from datetime import date

from shared.problems import FieldError, Problem

log = logging.getLogger("zhifa.search")

WAIT_SECONDS = 60.0
MAX_PROCESSES = 4

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


def _ready() -> int:
    return os.getpid()


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
    def __init__(self, processes: int):
        self.processes = processes
        # spawned, not forked: the web process has threads holding locks
        self._pool = multiprocessing.get_context("spawn").Pool(processes, initializer=_init)

    def wait_ready(self, timeout: float = 120.0) -> None:
        """A worker has loaded its dictionaries (a worker takes work only once it has)."""
        self._pool.apply_async(_ready).get(timeout)

    def prepare(self, raw: dict, today: date):
        """(Prepared, (IndexDoc, index fields)); a refusal raises its Problem here."""
        answer = self._pool.apply_async(_prepare, (raw, today)).get(WAIT_SECONDS)
        if answer[0] == "problem":
            status, type_, title, detail, errors = answer[1]
            raise Problem(status, type_, title, detail, [FieldError(p, m) for p, m in errors])
        return answer[1], answer[2]

    def close(self) -> None:
        # terminate, not close+join: a stopping server must not wait for its helpers
        self._pool.terminate()
