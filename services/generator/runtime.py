"""The generator's parts, built once per process from configuration.

The web app and RQ job functions share this, so a job does the same thing
whether it runs inline in the web process or in `zhifa worker`.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from services.generator.agency import AgencyProfile
from services.generator.batches import BatchService
from services.generator.catalogue import Catalogue
from services.generator.documents import DocumentService
from services.generator.models import Base
from services.generator.template_lint import lint_catalogue
from services.generator.workdays import WorkdayCalendar
from shared import config
from shared.blobstore import BlobStore
from shared.config import Settings
from shared.db import create_schema, make_engine, session_factory
from shared.jobs import Jobs

SERVICE = "generator"
log = logging.getLogger("zhifa.generator")


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
                                          fonts_conf=fonts_conf,
                                          work_dir=self.settings.service_dir(SERVICE) / "soffice")
            return self._pool

    def warm_in_background(self) -> None:
        """For long-running processes: start LibreOffice while the first request is awaited."""
        def warm():
            try:
                self.pool().warm()
            except Exception:
                log.exception("could not warm the LibreOffice pool; the first PDF will try again")
        threading.Thread(target=warm, name="pdf-warm", daemon=True).start()

    def __call__(self, docx: bytes) -> bytes:
        return self.pool().convert(docx)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    documents: DocumentService
    batches: BatchService
    jobs: Jobs
    pdf: LazyPdfConverter

    def warm(self, background: bool = True) -> None:
        if background:
            self.pdf.warm_in_background()
        else:
            self.pdf.pool().warm()

    def close(self) -> None:
        self.jobs.shutdown()
        self.pdf.close()
        self.engine.dispose()


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
    create_schema(engine, Base.metadata)
    sessions = session_factory(engine)
    pdf = LazyPdfConverter(settings)
    jobs = Jobs(SERVICE, settings.redis_url)
    documents = DocumentService(
        catalogue=catalogue, agency=AgencyProfile.load(settings.agency_file),
        calendar=WorkdayCalendar(settings.calendar_file), sessions=sessions,
        blobs=BlobStore(settings.service_dir(SERVICE) / "blobs"), search_url=settings.search_url,
        pdf_converter=pdf)
    return Runtime(settings, engine, documents, BatchService(documents, sessions, jobs), jobs, pdf)


_current: Runtime | None = None
_current_lock = threading.Lock()


def install(runtime: Runtime) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    """This process's runtime; a worker builds it from the environment on first use."""
    global _current
    with _current_lock:
        if _current is None:
            _current = build(config.load())
        return _current
