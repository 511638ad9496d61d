"""The generator's parts, built from configuration once per app or worker process.

`create_app` builds one Runtime and hangs it on the app; nothing is
process-wide, so two apps in one process (tests, a second deployment) never
write to each other's database. Job functions find the runtime with
`current()`: an inline job runs inside the context of the app that enqueued
it, an RQ worker builds its own from the environment on first use.
"""
from __future__ import annotations

import logging
import os
import secrets
import shutil
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from services.generator.agency import AgencyProfiles
from services.generator.batches import BatchService
from services.generator.catalogue import Catalogue
from services.generator.documents import DocumentService
from services.generator.models import Outbox
from services.generator.renditions import PdfRenditions
from services.generator.template_lint import lint_catalogue
from services.generator.workdays import WorkdayCalendar
from shared.blobstore import open_store
from shared.config import Settings
from shared.db import make_engine, session_factory, transaction
from shared.jobs import Jobs
from shared.migrate import Migrations
from shared.outbox import Outbox as OutboxRunner
from shared.runtimes import RuntimeContext

SERVICE = "generator"
# Rows handed out and not yet started, at most: a batch of a thousand waits in the
# outbox, not in the queue, so no entry outwaits its lease there (shared.outbox).
MAX_UNSTARTED_JOBS = 8
OUTBOX_KEEP_DAYS = 7
log = logging.getLogger("zhifa.generator")


def soffice_work_dir(settings: Settings) -> Path:
    """A LibreOffice work directory (profiles) of this process alone.

    Processes sharing a profile hand one soffice back and forth and restart it;
    directories left by processes that no longer run are removed.
    """
    root = settings.service_dir(SERVICE) / "soffice"
    root.mkdir(parents=True, exist_ok=True)
    for entry in root.iterdir():
        pid = entry.name.split("-", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)
    return root / f"{os.getpid()}-{secrets.token_hex(4)}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LazyPdfConverter:
    """Starts the LibreOffice pool on the first PDF, not at import or app start."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._pool = None
        self._lock = threading.Lock()

    def pool(self):
        with self._lock:
            if self._pool is None:
                from services.generator.pdf import PdfConverter
                from shared.fonts import install_fonts
                fonts_conf = install_fonts(self.settings.fonts_dir)
                self._pool = PdfConverter(size=self.settings.soffice_pool_size, timeout=self.settings.soffice_timeout,
                                          fonts_conf=fonts_conf, work_dir=soffice_work_dir(self.settings),
                                          recycle_after=self.settings.soffice_recycle_after)
            return self._pool

    def check(self) -> None:
        """For /readyz: raises unless LibreOffice can convert. Before the pool starts, the
        programs it needs must exist; once started, a member must be alive (a dead one is
        started again here, so a probe that takes the service out of rotation also heals it)."""
        from services.generator.pdf import _worker_command
        _worker_command()                     # raises, naming the missing uno Python or soffice
        pool = self._pool
        if pool is not None and not pool.closed and not any(m.alive() for m in pool.members):
            pool.members[0].ensure_running()

    def stats(self) -> dict:
        """Conversion figures for /metrics (zeros before the pool starts)."""
        pool = self._pool
        if pool is None:
            return {"conversions": 0, "failures": 0, "seconds": 0.0, "restarts": 0}
        return {**pool.stats, "restarts": pool.restarts}

    def warm_in_background(self) -> None:
        """For long-running processes: start LibreOffice while the first request is awaited."""
        def warm():
            pool = self.pool()
            try:
                pool.warm()
            except Exception:
                if pool.closed:      # the process stopped while LibreOffice started
                    log.info("LibreOffice warm-up stopped: the PDF converter was closed")
                else:
                    log.exception("could not warm the LibreOffice pool; the first PDF will try again")
        threading.Thread(target=warm, name="pdf-warm", daemon=True).start()

    def __call__(self, docx: bytes) -> bytes:
        return self.pool().convert(docx)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None


class Metrics:
    """The generator's figures for /metrics: documents and batches counted by
    the HTTP layer, PDF conversions read from the pool when scraped."""

    def __init__(self, pdf: "LazyPdfConverter"):
        self.documents = Counter("zhifa_documents_issued_total", "Documents issued", ["type"], registry=None)
        self.batches = Counter("zhifa_batches_created_total", "Batches created", registry=None)
        self._pdf = pdf

    def collect(self):
        stats = self._pdf.stats()
        yield CounterMetricFamily("zhifa_pdf_conversions", "PDF conversions", value=stats["conversions"])
        yield CounterMetricFamily("zhifa_pdf_conversion_failures", "Failed PDF conversion attempts",
                                  value=stats["failures"])
        yield CounterMetricFamily("zhifa_pdf_conversion_seconds", "Time spent converting to PDF",
                                  value=stats["seconds"])
        yield CounterMetricFamily("zhifa_soffice_restarts", "LibreOffice restarts (failures and recycling)",
                                  value=stats["restarts"])
        # Where a conversion's time goes inside LibreOffice (the worker times each stage).
        stages = CounterMetricFamily("zhifa_pdf_stage_seconds", "Time LibreOffice spent per conversion stage",
                                     labels=["stage"])
        stages.add_metric(["load"], stats.get("load_seconds", 0.0))
        stages.add_metric(["export"], stats.get("store_seconds", 0.0))
        yield stages

    def register(self, registry) -> None:
        for collector in (self.documents, self.batches, self):
            registry.register(collector)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    documents: DocumentService
    renditions: PdfRenditions
    batches: BatchService
    jobs: Jobs
    pdf: LazyPdfConverter
    metrics: Metrics
    outbox: OutboxRunner

    def warm(self, background: bool = True) -> None:
        if background:
            self.pdf.warm_in_background()
        else:
            self.pdf.pool().warm()
        self.outbox.start()      # a worker drains too: jobs are handed out while any generator process runs

    def resume(self) -> None:
        """At start, in either mode: jobs for work left pending without one (from before the outbox),
        and the drain loop, which hands out every recorded job, again those whose runner died."""
        if self.jobs.mode == "inline":
            # The previous process's in-memory queue died with it: what it had not started is free now.
            self.outbox.release_unstarted()
        self.batches.record_missing_jobs()
        self.renditions.record_missing_jobs()
        self.outbox.start()

    def close(self) -> None:
        self.outbox.stop()
        self.jobs.shutdown(wait=False)
        self.pdf.close()
        self.engine.dispose()


def prune_outbox(sessions, keep_days: int = OUTBOX_KEEP_DAYS) -> int:
    """One row per PDF and batch entry: finished rows go after a while (the registry and
    the audit log keep what was done; a given-up row's reason is on its document or entry)."""
    cutoff = datetime.now(timezone.utc) - timedelta(days=keep_days)
    with transaction(sessions) as session:
        return session.execute(delete(Outbox).where(Outbox.c.state.in_(("done", "given_up")),
                                                    Outbox.c.finished_at < cutoff)).rowcount


def load_catalogue(settings: Settings) -> Catalogue:
    """The templates in use, refused whole if any of them fails the linter:
    better a service that will not start than a blank where a field belongs."""
    catalogue = Catalogue(settings.templates_dir) if settings.templates_dir else Catalogue()
    problems = lint_catalogue(catalogue)
    if problems:
        lines = [f"  {t}: {p}" for t, ps in problems.items() for p in ps]
        raise ValueError("document templates fail the linter (zhifa check-templates):\n" + "\n".join(lines))
    return catalogue


def build(settings: Settings) -> Runtime:
    catalogue = load_catalogue(settings)
    engine = make_engine(settings.database_url(SERVICE))
    Migrations(SERVICE).ensure(engine)      # migrated, adopted or refused: shared/migrate.py
    sessions = session_factory(engine)
    blobs = open_store(settings, SERVICE)
    pdf = LazyPdfConverter(settings)
    holder: list[Runtime] = []
    jobs = Jobs(SERVICE, settings.redis_url, settings.deployment, bind=lambda: active(holder[0]))
    documents = DocumentService(
        catalogue=catalogue, agencies=AgencyProfiles.load(settings.agency_file),
        calendar=WorkdayCalendar(settings.calendar_file), sessions=sessions, blobs=blobs,
        public_verify_url=settings.public_verify_url)
    outbox = OutboxRunner(sessions, Outbox, jobs, "services.generator.runtime.current_outbox",
                          bind=lambda: active(holder[0]), max_unstarted=MAX_UNSTARTED_JOBS,
                          housekeeping=[lambda: prune_outbox(sessions)])
    # A request's own conversion (and LibreOffice's one restart) ends before the drain may take it over.
    renditions = PdfRenditions(documents, sessions, blobs, pdf, outbox, hold_seconds=settings.soffice_timeout + 5)
    runtime = Runtime(settings, engine, documents, renditions,
                      BatchService(documents, renditions, sessions, outbox), jobs, pdf, Metrics(pdf), outbox)
    holder.append(runtime)
    return runtime


# Job functions find their runtime here (shared.runtimes): the enqueuing
# app's for inline jobs, the worker process's own otherwise.
_context: RuntimeContext[Runtime] = RuntimeContext(SERVICE, build)
active = _context.active
current = _context.current


def current_outbox() -> OutboxRunner:
    """The outbox of this process's runtime (shared.outbox.execute finds it by this path)."""
    return current().outbox
