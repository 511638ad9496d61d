"""The search service's parts, built from configuration once per app or worker process.

Same pattern as the generator's runtime: `create_app` builds one Runtime and
hangs it on the app (app.extensions["zhifa.runtime"]); an inline job runs
inside `active(runtime)`; an RQ worker builds its own with `current()`.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from services.search import reindex
from services.search.analysis import Analyzer
from services.search.decisions import DecisionService
from services.search.index import SearchIndex
from services.search.models import SweepRun
from services.search.pending import PendingPublications
from services.search.redaction import Redactor
from services.search.sources import GeneratorSource, make_source
from services.search.stats import Statistics
from shared.config import Settings
from shared.db import make_engine, session_factory, transaction
from shared.http import ServiceClient
from shared.jobs import Jobs
from shared.migrate import Migrations
from shared.runtimes import RuntimeContext

SERVICE = "search"
SWEEP_CHECK_SECONDS = 3600
SWEEP_RETRY_SECONDS = 60          # after the queue (Redis) refused the day's sweep
log = logging.getLogger("zhifa.search")


def make_index(settings: Settings, analyzer: Analyzer) -> SearchIndex:
    """Elasticsearch when ZHIFA_ELASTICSEARCH_URL is set, else Tantivy under the data dir."""
    if settings.elasticsearch_url:
        from services.search.elastic import ElasticIndex
        return ElasticIndex(settings.elasticsearch_url, prefix=f"{settings.deployment}-decisions",
                            analyzer=settings.elasticsearch_analyzer)
    from services.search.tantivy_index import TantivyIndex
    return TantivyIndex(settings.service_dir(SERVICE) / "tantivy", analyzer)


class Sweeper:
    """Once a day, one process of the deployment enqueues the expiry sweep
    (the day's row in sweep_runs decides which); reads hide expired
    decisions meanwhile, so a late sweep shows nothing it should not."""

    def __init__(self, runtime: "Runtime"):
        self.runtime = runtime
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def claim_today(self) -> bool:
        day = self.runtime.decisions.today()
        try:
            with transaction(self.runtime.sessions) as session:
                if session.get(SweepRun, day) is not None:
                    return False
                session.add(SweepRun(day=day, claimed_at=datetime.now(timezone.utc)))
        except IntegrityError:          # another process claimed it first
            return False
        return True

    def tick(self) -> bool:
        if self.claim_today():
            try:
                self.runtime.jobs.enqueue("services.search.tasks.sweep_expired")
            except Exception:
                # The queue is down (Redis): the day is not swept, so it must not stay claimed, or no
                # process would try again before tomorrow.
                with transaction(self.runtime.sessions) as session:
                    session.execute(delete(SweepRun).where(SweepRun.day == self.runtime.decisions.today()))
                raise
            return True
        return False

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="search-sweeper", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = SWEEP_CHECK_SECONDS
            try:
                self.tick()
            except Exception:
                log.exception("could not schedule the expiry sweep; trying again in a minute")
                wait = SWEEP_RETRY_SECONDS
            self._stop.wait(wait)

    def stop(self) -> None:
        self._stop.set()


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: object
    analyzer: Analyzer
    index: SearchIndex
    decisions: DecisionService
    stats: Statistics
    jobs: Jobs
    source: GeneratorSource
    generator: ServiceClient            # public calls (verification)
    pending: PendingPublications
    sweeper: Sweeper = field(init=False)

    def __post_init__(self):
        self.sweeper = Sweeper(self)
        self._closed = False
        self._pool_lock = threading.Lock()

    def warm(self, background: bool = True) -> None:
        """Load jieba's dictionary before the first request; a served process
        also starts the daily expiry timer and its preparing processes."""
        if background:
            threading.Thread(target=self.analyzer.warm, name="jieba-warm", daemon=True).start()
            if self.settings.search_role != "public":    # a public process publishes nothing
                threading.Thread(target=self.start_preparing, name="prepare-pool", daemon=True).start()
            self.sweeper.start()
        else:
            self.analyzer.warm()

    def start_preparing(self, processes: int | None = None) -> None:
        """Publications are prepared by other processes once they are ready (preparing.py);
        in this one until then, or for good if they cannot start."""
        from services.search.preparing import PreparePool, default_processes
        if processes is None:
            processes = self.settings.search_prepare_processes
        if processes is None:
            processes = default_processes()
        if processes <= 0 or self._closed:
            return
        pool = None
        try:
            pool = PreparePool(processes)
            pool.wait_ready()
        except Exception:
            log.exception("preparing processes did not start; publications are prepared in this process")
            if pool is not None:
                pool.close()
            return
        with self._pool_lock:
            if self._closed:
                pool.close()
                return
            self.decisions.pool = pool
        log.info("%d preparing processes ready", processes)

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
        self.sweeper.stop()
        self.decisions.close()
        self.jobs.shutdown(wait=False)
        self.source.close()
        self.generator.close()
        self.index.close()
        self.engine.dispose()


def build(settings: Settings) -> Runtime:
    engine = make_engine(settings.database_url(SERVICE))
    Migrations(SERVICE).ensure(engine)      # migrated, adopted or refused: shared/migrate.py
    sessions = session_factory(engine)
    analyzer = Analyzer()
    index = make_index(settings, analyzer)
    source = make_source(settings, settings.service_dir(SERVICE) / "downloads")
    holder: list[Runtime] = []
    jobs = Jobs(SERVICE, settings.redis_url, settings.deployment, bind=lambda: active(holder[0]))
    decisions = DecisionService(sessions, index, Redactor(analyzer), fetch_document=source)
    # The index is derived from the database: rebuilt when missing or of another schema version;
    # the embedded one reads the decisions it commits from the database (tantivy_index.py).
    index.loader = reindex.loader(decisions)
    index.ensure(lambda: reindex.public_docs(decisions), lambda: reindex.count_public(decisions))
    runtime = Runtime(settings, engine, sessions, analyzer, index, decisions, Statistics(sessions), jobs, source,
                      ServiceClient.for_service(settings, "generator", read_timeout=10.0),
                      PendingPublications(sessions, decisions.today))
    holder.append(runtime)
    return runtime


# Job functions find their runtime here (shared.runtimes): the enqueuing
# app's for inline jobs, the worker process's own otherwise.
_context: RuntimeContext[Runtime] = RuntimeContext(SERVICE, build)
active = _context.active
current = _context.current
