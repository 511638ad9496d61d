"""PDF renditions: made from a registered document's stored DOCX, afterwards.

The number, the DOCX and the registry row are committed first (documents.py),
and with them, in the same transaction, the job that makes the PDF (an
outbox row, shared.outbox): registering and scheduling cannot part, so a
Redis outage or a killed process never strands a PDF "pending". The
conversion then runs outside any transaction, so nothing but the request
that asked for it waits on LibreOffice. A conversion that fails leaves the
document registered with its PDF "pending" (retried from the DOCX by the
outbox) and, after MAX_ATTEMPTS, "failed"; it is never renumbered.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Callable

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.generator.documents import DocumentService, Prepared
from services.generator.models import AuditLog, Document, Outbox
from shared import audit
from shared.blobstore import BlobStore
from shared.db import transaction
from shared.outbox import Outbox as OutboxRunner, complete, due_now, record
from shared.problems import not_found

if TYPE_CHECKING:
    from services.generator.pdf import StartedConversion

log = logging.getLogger("zhifa.generator.renditions")

# The request's (or batch job's) attempt and one retry, as every job gets;
# each attempt already restarts LibreOffice once inside the pool.
MAX_ATTEMPTS = 2
RENDER_PDF_JOB = "services.generator.tasks.render_pdf"
PDF_GIVEN_UP = "services.generator.tasks.pdf_given_up"

# Conversions started before their document is committed (see PdfRenditions.issue) when no
# LibreOffice is free at once: the pool bounds how many run at once; these threads wait on it.
_EARLY = ThreadPoolExecutor(max_workers=16, thread_name_prefix="pdf-early")


class PdfRenditions:
    def __init__(self, documents: DocumentService, sessions: sessionmaker[Session], blobs: BlobStore,
                 converter: Callable[[bytes], bytes], outbox: OutboxRunner, hold_seconds: float):
        self.documents = documents
        self.sessions = sessions
        self.blobs = blobs
        self.converter = converter
        self.outbox = outbox
        # How long the job of a PDF a request makes itself waits before the drain may take it over.
        self.hold_seconds = hold_seconds

    def issue(self, prepared: Prepared, actor: str, idempotency_key: str | None, request_sha256: str,
              wait_for_pdf: bool) -> tuple[Document, bool]:
        """Register a document together with the job that makes its PDF. With `wait_for_pdf` the
        request makes it itself, without a round trip through the queue (the job is the drain's only
        if this process fails or dies first); otherwise the job is handed out at once, or by the
        drain loop once the queue is reachable again."""
        entry: list[str] = []
        early: list[Future | StartedConversion] = []

        def with_pdf_job(session: Session, doc: Document) -> None:
            if doc.pdf_status == "pending":
                entry.append(self.record_job(session, doc.id, due_in=self.hold_seconds if wait_for_pdf else 0))

        def convert_early(docx: bytes) -> None:
            # LibreOffice starts on the rendered DOCX while it is stored, audited and committed
            # (6-8 % of a request). The PDF itself is stored only after the commit, so the number
            # is registered first; a rolled-back issue discards the conversion.
            early.append(self.start(docx))

        try:
            doc, created = self.documents.issue(prepared, actor, idempotency_key, request_sha256,
                                                in_same_transaction=with_pdf_job,
                                                on_rendered=convert_early if wait_for_pdf else None)
        except BaseException:
            for future in early:
                future.cancel()
            raise
        started = early[0] if early and created else None
        if not created:
            # A concurrent request with the same key won: our DOCX (and its number) rolled back.
            for future in early:
                future.cancel()
        if not entry:
            if started is not None:
                started.cancel()
            return doc, created
        if not wait_for_pdf:
            self.outbox.wake()                   # handed out by the loop: the answer never waits on Redis
            return doc, created
        try:
            return self.make(doc.id, doc, entry[0], started), created
        except Exception:
            log.warning("PDF of document %s failed in the request; the outbox retries it", doc.id, exc_info=True)
            return self.documents.get(doc.id), created

    def start(self, docx: bytes) -> Future | StartedConversion:
        """The conversion of a DOCX, started now; hand it to `make` as `started` (or cancel it).
        Sent to a free LibreOffice from this thread when the converter can (`begin`), else
        converted on a thread that waits for one."""
        begin = getattr(self.converter, "begin", None)
        return (begin(docx) if begin else None) or _EARLY.submit(self.converter, docx)

    @staticmethod
    def record_job(session: Session, document_id: str, due_in: float = 0) -> str:
        return record(session, Outbox, RENDER_PDF_JOB, [document_id], on_give_up=PDF_GIVEN_UP, due_in=due_in)

    def make(self, document_id: str, doc: Document | None = None, entry_id: str | None = None,
             started: Future | None = None) -> Document:
        """Convert the document's DOCX if its PDF is pending; raises when the
        conversion fails (the failure is recorded on the document first).
        `entry_id`: the outbox row of a request doing the job itself, settled with the result.
        `started`: that request's conversion of the same DOCX, already under way."""
        doc = doc if doc is not None else self.documents.get(document_id)
        if doc.pdf_status != "pending":
            if started is not None:
                started.cancel()
            return doc          # done, not asked for, or failed (asked for again with retry())
        try:
            pdf = started.result() if started is not None else self.converter(self.blobs.get(doc.docx_sha256))
        except Exception as exc:
            self._record_failure(doc, exc, entry_id)
            raise
        # The file first (fsynced), then the row that points at it: a "done" row never points
        # at a PDF a power cut lost. (Writing it on a thread while the row is updated was slower:
        # the thread waits for the GIL the row's statements hold.)
        sha = self.blobs.put(pdf)
        with transaction(self.sessions) as session:
            # The first finished conversion wins; a concurrent one changes nothing.
            # On the table, not the entity: the ORM's bulk-update path cost more than the statement.
            documents = Document.__table__
            attempts = session.execute(
                update(documents).where(documents.c.id == document_id, documents.c.pdf_status != "done")
                .values(pdf_status="done", pdf_sha256=sha, pdf_bytes=len(pdf), pdf_error=None,
                        pdf_attempts=documents.c.pdf_attempts + 1)
                .returning(documents.c.pdf_attempts)).scalar()
            if attempts is not None:
                audit.append(session, AuditLog, "generator", "document.pdf", document_id,
                             {"number": doc.number, "pdf_sha256": sha})
            if entry_id:
                complete(session, Outbox, entry_id)
        if attempts is None:
            return self.documents.get(document_id)     # another conversion's PDF is the one registered
        # What the row now holds, without reading it back (the request answers with it).
        doc.pdf_status, doc.pdf_sha256, doc.pdf_bytes, doc.pdf_error = "done", sha, len(pdf), None
        doc.pdf_attempts = attempts
        return doc

    def wait(self, document_id: str, seconds: float) -> Document:
        """The document once its PDF is no longer pending, or after `seconds`."""
        deadline = time.monotonic() + seconds
        doc = self.documents.get(document_id)
        while doc.pdf_status == "pending" and time.monotonic() < deadline:
            time.sleep(0.1)
            doc = self.documents.get(document_id)
        return doc

    def retry(self, document_id: str) -> Document:
        """A failed PDF asked for again: pending once more, with its job recorded in the same
        transaction (and one for a pending PDF that has none, e.g. registered before the outbox)."""
        with transaction(self.sessions) as session:
            doc = session.get(Document, document_id, with_for_update=True)
            if doc is None:
                raise not_found("文书")
            if doc.pdf_status == "failed":
                doc.pdf_status, doc.pdf_attempts, doc.pdf_error = "pending", 0, None
            if doc.pdf_status == "pending" and document_id not in self._queued(session):
                self.record_job(session, document_id)
        self.outbox.wake()
        return self.documents.get(document_id)

    def give_up(self, document_id: str, reason: str) -> None:
        """The outbox's runs of this PDF kept dying: failed, so it can be asked for again."""
        with transaction(self.sessions) as session:
            session.execute(update(Document).where(Document.id == document_id, Document.pdf_status == "pending")
                            .values(pdf_status="failed",
                                    pdf_error=f"PDF 生成任务多次中断，已停止重试（{reason}），可重新请求生成。"[:500]))

    def record_missing_jobs(self) -> int:
        """At start: a job for each PDF left pending without one (registered before the outbox
        existed); everything else pending already has its row, which the drain loop hands out."""
        with transaction(self.sessions) as session:
            pending = session.execute(select(Document.id).where(Document.pdf_status == "pending")).scalars().all()
            missing = set(pending) - self._queued(session) if pending else set()
            for document_id in sorted(missing):
                self.record_job(session, document_id)
        if missing:
            log.info("recorded jobs for %d pending PDF renditions that had none", len(missing))
        return len(missing)

    @staticmethod
    def _queued(session: Session) -> set[str]:
        rows = session.execute(select(Outbox.c.args).where(Outbox.c.state == "pending",
                                                           Outbox.c.task == RENDER_PDF_JOB)).scalars()
        return {args[0] for args in rows if args}

    def _record_failure(self, doc: Document, exc: Exception, entry_id: str | None = None) -> None:
        reason = f"{exc.__class__.__name__}: {exc}"[:500]
        attempts = Document.pdf_attempts + 1
        with transaction(self.sessions) as session:
            session.execute(
                update(Document).where(Document.id == doc.id, Document.pdf_status == "pending")
                .values(pdf_attempts=attempts, pdf_error=reason,
                        pdf_status=case((attempts >= MAX_ATTEMPTS, "failed"), else_="pending")))
            if entry_id:
                due_now(session, Outbox, entry_id)
