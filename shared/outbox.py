"""A transactional outbox: background work that is recorded with the state
change that needs it, and done even if Redis is down at that moment or the
worker doing it is killed.

    outbox = outbox_table(Base.metadata)                 # in the service's own database
    with transaction(sessions) as session:
        row.status = "sealing"
        record(session, outbox, "services.archive.tasks.seal_case_file", [row.id],
               on_give_up="services.archive.tasks.seal_given_up")
    box.kick()                                            # hand it out now if the queue is reachable

`Outbox` (one per service runtime) hands due rows to shared.jobs (RQ, or
the inline thread) as the job `shared.outbox.execute(<accessor>, <entry id>)`;
`accessor` is the dotted path of a function that returns the process's own
Outbox (the runtime's), so an RQ worker finds it as it finds its runtime.

Leases: a row being run carries `lease_until`, renewed by its runner every
lease/4 (heartbeat): a killed worker's row is free again within `lease`
and handed out again by the next drain, which every web process and worker
runs every few seconds. A row handed out but not yet started holds a longer
lease (`dispatch_lease`: a queue busy with long jobs must not make it look
lost); past it, the job is taken for lost with Redis and handed out again.
A restarted Redis (a new run_id) may have lost what it held: the loop then
hands out again at once every row handed out and not started.
A runner only starts a row no live runner holds, so a row handed out twice
runs once; the task must be idempotent all the same (it is run again after
a crash). Attempts count runs started: after `max_attempts` the row is given
up and `on_give_up(*args, reason)` is called, so nothing stays pending for
ever, while a row waiting for a worker to come back waits as long as it takes.

Many rows at once (the generator's batches): `max_unstarted` caps the rows
handed out and not yet started, so none waits in the queue past its lease
(and is counted again as abandoned); each run that starts hands out the
next. `record(..., due_in=)` records a job that the recording process means
to do itself (a request making its own PDF): it marks the row done with
`complete` in the transaction that stores the result, and the drain takes
the job over only if that process dies (or fails, `due_now`) first.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from shared.db import reading, transaction
from shared.jobs import Jobs, resolve

log = logging.getLogger("zhifa.outbox")

EXECUTE = "shared.outbox.execute"
LEASE_SECONDS = 30          # a killed worker's row is handed out again within this (+ one drain interval)
DISPATCH_LEASE_SECONDS = 120   # a handed-out row not started by then is handed out again
DRAIN_SECONDS = 5
MAX_ATTEMPTS = 5
BATCH = 50


def outbox_table(metadata: MetaData, name: str = "outbox") -> Table:
    return Table(
        name, metadata,
        Column("id", String(36), primary_key=True),
        Column("task", String(200), nullable=False),             # dotted path of the job function
        Column("args", JSON, nullable=False),
        Column("on_give_up", String(200)),
        Column("state", String(10), nullable=False, index=True),  # pending | done | given_up
        Column("attempts", Integer, nullable=False),              # runs started so far
        Column("due_at", DateTime(timezone=True), nullable=False),
        Column("lease_until", DateTime(timezone=True)),            # handed out / running until; past = abandoned
        Column("runner", String(36)),                              # the run holding the lease, if one started
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("finished_at", DateTime(timezone=True)),
        Column("last_error", String(500)),
    )


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def record(session: Session, table: Table, task: str, args: list, on_give_up: str | None = None,
           due_in: float = 0) -> str:
    """Add a job inside the caller's transaction: it exists if and only if the caller's change commits.
    `due_in` seconds: not handed out before (the caller does the work itself meanwhile, then `complete`)."""
    entry_id, now = str(uuid.uuid4()), _now()
    session.execute(table.insert().values(id=entry_id, task=task, args=list(args), on_give_up=on_give_up,
                                          state="pending", attempts=0, due_at=now + timedelta(seconds=due_in),
                                          created_at=now))
    return entry_id


def complete(session: Session, table: Table, entry_id: str) -> None:
    """The recording process did the job itself: done, inside the transaction that stores its result."""
    session.execute(update(table).where(table.c.id == entry_id, table.c.state == "pending").values(
        state="done", finished_at=_now(), runner=None, lease_until=None))


def due_now(session: Session, table: Table, entry_id: str) -> None:
    """The recording process's own attempt failed: the drain retries the job at once, not at `due_in`."""
    session.execute(update(table).where(table.c.id == entry_id, table.c.state == "pending",
                                        table.c.runner.is_(None)).values(due_at=_now()))


def execute(accessor: str, entry_id: str) -> None:
    """The job handed to RQ or the inline thread: run one outbox row in this process's outbox."""
    resolve(accessor)().run(entry_id)


class Outbox:
    def __init__(self, sessions: sessionmaker[Session], table: Table, jobs: Jobs, accessor: str,
                 lease_seconds: float = LEASE_SECONDS, drain_seconds: float = DRAIN_SECONDS,
                 dispatch_lease_seconds: float = DISPATCH_LEASE_SECONDS,
                 max_attempts: int = MAX_ATTEMPTS, housekeeping: list[Callable[[], Any]] | None = None,
                 bind: Callable[[], AbstractContextManager] | None = None, max_unstarted: int | None = None):
        self.sessions = sessions
        self.table = table
        self.jobs = jobs
        self.accessor = accessor
        self.lease = timedelta(seconds=lease_seconds)
        self.dispatch_lease = timedelta(seconds=dispatch_lease_seconds)
        self.drain_seconds = drain_seconds
        self.max_attempts = max_attempts
        self.housekeeping = housekeeping or []
        self._bind = bind or nullcontext        # give-up handlers run in the owning runtime's context
        self.max_unstarted = max_unstarted      # None: hand out every due row at once
        self._stop = threading.Event()
        self._wake = threading.Event()          # wake(): drain now on the loop's thread
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._queue_server: str | None = None   # the queue server the loop last saw (see _queue_restarted)

    # --- handing out -------------------------------------------------------

    def kick(self) -> int:
        """Drain now, never raising: the rows are recorded, and a failed hand-out is retried by the loop."""
        try:
            with self._bind():
                return self.drain()
        except Exception:
            log.warning("outbox drain failed; the loop retries", exc_info=True)
            return 0

    def drain(self) -> int:
        """Hand out every due row nobody holds; give up rows past max_attempts. Returns rows handed out."""
        t, now = self.table, _now()
        handed, given_up = [], []
        due = (t.c.state == "pending", t.c.due_at <= now, or_(t.c.lease_until.is_(None), t.c.lease_until < now))
        with reading(self.sessions) as session:     # most drains find nothing: no write lock for that
            if session.execute(select(t.c.id).where(*due).limit(1)).first() is None:
                return 0
        with transaction(self.sessions) as session:
            limit = BATCH
            if self.max_unstarted is not None:
                waiting = session.execute(select(func.count()).select_from(t).where(
                    t.c.state == "pending", t.c.runner.is_(None), t.c.lease_until >= now)).scalar()
                limit = min(BATCH, self.max_unstarted - waiting)
                if limit <= 0:
                    return 0
            rows = session.execute(
                select(t).where(t.c.state == "pending", t.c.due_at <= now,
                                or_(t.c.lease_until.is_(None), t.c.lease_until < now))
                .order_by(t.c.created_at).limit(limit).with_for_update(skip_locked=True)).all()
            for row in rows:
                if row.attempts >= self.max_attempts:
                    session.execute(update(t).where(t.c.id == row.id).values(
                        state="given_up", finished_at=now, runner=None, lease_until=None))
                    given_up.append(row)
                else:
                    # A runner that held it is gone (its lease ran out): the row is free again.
                    session.execute(update(t).where(t.c.id == row.id).values(
                        lease_until=now + self.dispatch_lease, runner=None))
                    handed.append(row)
        for row in given_up:
            self._give_up(row)
        for index, row in enumerate(handed):
            try:
                self.jobs.enqueue(EXECUTE, self.accessor, row.id)
            except Exception as exc:
                # The queue is unreachable (Redis down): release the rows, uncounted, for the next drain.
                log.warning("outbox: cannot hand out jobs (%s); retrying in %.0f s", type(exc).__name__,
                            self.drain_seconds)
                with transaction(self.sessions) as session:
                    for rest in handed[index:]:
                        session.execute(update(t).where(t.c.id == rest.id, t.c.runner.is_(None)).values(
                            lease_until=None))
                return index
        return len(handed)

    def _give_up(self, row) -> None:
        log.error("outbox: giving up %s%r after %d attempts", row.task, row.args, row.attempts)
        if row.on_give_up:
            try:
                with self._bind():
                    resolve(row.on_give_up)(*row.args, row.last_error or f"{row.attempts} 次执行均未完成")
            except Exception:
                log.exception("outbox: give-up handler %s failed", row.on_give_up)

    # --- running -----------------------------------------------------------

    def run(self, entry_id: str) -> bool:
        """Run one row unless it is finished or a live runner holds it; True if this call ran it."""
        t, runner = self.table, str(uuid.uuid4())
        with transaction(self.sessions) as session:
            row = session.execute(select(t).where(t.c.id == entry_id).with_for_update()).first()
            now = _now()
            if row is None or row.state != "pending":
                return False
            if row.runner is not None and _utc(row.lease_until) and _utc(row.lease_until) > now:
                return False                                   # another run is alive
            session.execute(update(t).where(t.c.id == entry_id).values(
                runner=runner, lease_until=now + self.lease, attempts=row.attempts + 1))
        if self.max_unstarted is not None:
            self.kick()                  # a queued slot is free: keep the queue primed, never deep
        beating = threading.Event()
        heart = threading.Thread(target=self._heartbeat, args=(entry_id, runner, beating), daemon=True,
                                 name="outbox-heartbeat")
        heart.start()
        try:
            resolve(row.task)(*row.args)
        except Exception as exc:
            log.exception("outbox: %s%r failed", row.task, row.args)
            error = f"{type(exc).__name__}"[:500]
            with transaction(self.sessions) as session:
                # Retried by a later drain after a pause growing with the attempts (max_attempts bounds it).
                session.execute(update(t).where(t.c.id == entry_id, t.c.runner == runner).values(
                    runner=None, lease_until=None, last_error=error,
                    due_at=_now() + timedelta(seconds=self.drain_seconds * 2 ** (row.attempts + 1))))
            return True
        finally:
            beating.set()
            heart.join()
        with transaction(self.sessions) as session:
            session.execute(update(t).where(t.c.id == entry_id, t.c.runner == runner).values(
                state="done", finished_at=_now(), runner=None, lease_until=None))
        return True

    def _heartbeat(self, entry_id: str, runner: str, stop: threading.Event) -> None:
        while not stop.wait(self.lease.total_seconds() / 4):
            try:
                with transaction(self.sessions) as session:
                    session.execute(update(self.table).where(self.table.c.id == entry_id,
                                                             self.table.c.runner == runner)
                                    .values(lease_until=_now() + self.lease))
            except Exception:
                log.warning("outbox: heartbeat of %s failed", entry_id, exc_info=True)

    # --- the loop ----------------------------------------------------------

    def start(self) -> None:
        """Drain every drain_seconds on a daemon thread (idempotent); housekeeping about once a minute."""
        with self._start_lock:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="outbox-drain", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Hand out what was just recorded, on the loop's thread: the caller (a request) never waits
        on the queue, even when Redis hangs rather than refuses. Without a loop, drains here."""
        if self._thread is None:
            self.kick()
        else:
            self._wake.set()

    def _loop(self) -> None:
        housekept = None
        while not self._stop.is_set():
            self._wake.clear()
            if self._queue_restarted():
                # Redis restarted (after an outage, a failover): what was handed to it and not started
                # may be gone with it. Hand it out again now, not a dispatch lease (2 min) later; a
                # row that was not lost runs once all the same.
                try:
                    log.warning("outbox: the queue server restarted; handing out again %d unstarted jobs",
                                self.release_unstarted())
                except Exception:
                    log.warning("outbox: cannot release unstarted jobs; their dispatch lease will",
                                exc_info=True)
            self.kick()
            if housekept is None or time.monotonic() - housekept >= 60:
                housekept = time.monotonic()
                for task in self.housekeeping:
                    try:
                        with self._bind():
                            task()
                    except Exception:
                        log.warning("outbox housekeeping %r failed", task, exc_info=True)
            self._wake.wait(self.drain_seconds)

    def _queue_restarted(self) -> bool:
        """True when the queue server is another than the loop last saw; never raises."""
        try:
            server = getattr(self.jobs, "server_id", lambda: None)()
        except Exception:
            return False                       # unreachable: the drain retries and says so
        last, self._queue_server = self._queue_server, server or self._queue_server
        return last is not None and server is not None and server != last

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=10)

    def release_unstarted(self) -> int:
        """Rows handed out but not started are free again at once: for inline mode at start, whose
        in-memory queue died with the previous process (a live runner's row keeps its lease)."""
        t = self.table
        with transaction(self.sessions) as session:
            return session.execute(update(t).where(t.c.state == "pending", t.c.runner.is_(None),
                                                   t.c.lease_until.is_not(None)).values(lease_until=None)).rowcount

    def pending(self, task: str) -> list[list]:
        """The args of the pending rows of a task (to record missing ones at start, not twice)."""
        with reading(self.sessions) as session:
            return [row.args for row in session.execute(
                select(self.table.c.args).where(self.table.c.state == "pending", self.table.c.task == task))]
