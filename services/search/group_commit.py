"""Group commit: many requests' writes in one transaction.

Each publication used to be its own transaction with its own turn at the
audit chain's lock (about 10 ms of round trips and lock waits, one at a time),
which capped publishing near 25 decisions/s whatever the CPU. Requests now
hand their prepared write to one committer thread and wait; the committer
takes everything queued (up to `max_batch`), stores it in one transaction
and answers each request with its own result. While a batch commits the
next one gathers, so a burst costs a few transactions and no request waits
for a timer.

If a batch fails, nothing of it was written (one transaction), and each item
is stored again alone: a bad item fails with its own error, the others
succeed. Two items with the same key (a decision's number) never share a
batch: the later one goes into the next, in order.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Callable, Generic, Hashable, TypeVar

log = logging.getLogger("zhifa.search")

Item = TypeVar("Item")
Result = TypeVar("Result")

MAX_BATCH = 200
WAIT_SECONDS = 120.0


class _Waiting(Generic[Item, Result]):
    __slots__ = ("item", "done", "result", "error")

    def __init__(self, item: Item):
        self.item = item
        self.done = threading.Event()
        self.result: Result | None = None
        self.error: BaseException | None = None


class GroupCommitter(Generic[Item, Result]):
    """`store(items)` writes every item in one transaction (all or nothing) and
    returns one result per item; `key(item)` keeps two writes of one record
    apart."""

    def __init__(self, store: Callable[[list[Item]], list[Result]], key: Callable[[Item], Hashable],
                 max_batch: int = MAX_BATCH, name: str = "group-commit"):
        self.store, self.key, self.max_batch, self.name = store, key, max_batch, name
        self.batches = 0                # transactions that committed (tests, figures)
        self._queue: deque[_Waiting] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = False

    def submit(self, item: Item) -> Result:
        """Store `item` with whatever else is queued; its result, or its own error."""
        waiting = _Waiting(item)
        with self._cond:
            if self._stop:
                raise RuntimeError(f"{self.name} is closed")
            self._queue.append(waiting)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._cond.notify()
        if not waiting.done.wait(WAIT_SECONDS):
            raise TimeoutError(f"{self.name}: not committed within {WAIT_SECONDS:.0f} s")
        if waiting.error is not None:
            raise waiting.error
        return waiting.result

    def _take(self) -> list[_Waiting] | None:
        with self._cond:
            while not self._queue and not self._stop:
                self._cond.wait()
            if not self._queue:
                return None
            batch, keys, deferred = [], set(), []
            while self._queue and len(batch) < self.max_batch:
                waiting = self._queue.popleft()
                key = self.key(waiting.item)
                if key in keys:
                    deferred.append(waiting)
                else:
                    keys.add(key)
                    batch.append(waiting)
            self._queue.extendleft(reversed(deferred))     # first in the next batch, in order
            return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            try:
                self._commit(batch)
            except BaseException as exc:        # never leave a request waiting
                log.exception("%s: batch of %d failed", self.name, len(batch))
                for waiting in batch:
                    if not waiting.done.is_set():
                        waiting.error = exc
                        waiting.done.set()

    def _commit(self, batch: list[_Waiting]) -> None:
        try:
            results = self.store([w.item for w in batch])
            self.batches += 1
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
                batch[0].done.set()
                return
            # Nothing of the batch was written: each item alone, so only a bad one fails.
            log.warning("%s: a batch of %d failed (%s); storing each alone", self.name, len(batch), exc)
            for waiting in batch:
                self._commit([waiting])
            return
        for waiting, result in zip(batch, results):
            waiting.result = result
            waiting.done.set()

    def close(self, timeout: float = 30.0) -> None:
        """Store what is queued, then stop."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
