"""PDF renditions: made from a registered document's stored DOCX, afterwards.

The number, the DOCX and the registry row are committed first (documents.py);
the PDF conversion then runs outside any transaction, so nothing but the
request that asked for it waits on LibreOffice. A conversion that fails
leaves the document registered with its PDF "pending" (retried from the
DOCX, by a job) and, after MAX_ATTEMPTS, "failed"; it is never renumbered.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.generator.documents import DocumentService
from services.generator.models import AuditLog, Document
from shared import audit
from shared.blobstore import BlobStore
from shared.db import reading, transaction
from shared.jobs import Jobs

log = logging.getLogger("zhifa.generator.renditions")

# The request's (or batch job's) attempt and one retry, as every job gets;
# each attempt already restarts LibreOffice once inside the pool.
MAX_ATTEMPTS = 2
RENDER_PDF_JOB = "services.generator.tasks.render_pdf"


class PdfRenditions:
    def __init__(self, documents: DocumentService, sessions: sessionmaker[Session], blobs: BlobStore,
                 converter: Callable[[bytes], bytes], jobs: Jobs):
        self.documents = documents
        self.sessions = sessions
        self.blobs = blobs
        self.converter = converter
        self.jobs = jobs

    def make(self, document_id: str) -> Document:
        """Convert the document's DOCX unless its PDF exists; raises when the
        conversion fails (the failure is recorded on the document first)."""
        doc = self.documents.get(document_id)
        if doc.pdf_status in ("done", "none"):
            return doc
        docx = self.blobs.get(doc.docx_sha256)
        try:
            pdf = self.converter(docx)
        except Exception as exc:
            self._record_failure(doc, exc)
            raise
        sha = self.blobs.put(pdf)
        with transaction(self.sessions) as session:
            # The first finished conversion wins; a concurrent one changes nothing.
            done = session.execute(
                update(Document).where(Document.id == document_id, Document.pdf_status != "done")
                .values(pdf_status="done", pdf_sha256=sha, pdf_bytes=len(pdf), pdf_error=None,
                        pdf_attempts=Document.pdf_attempts + 1)).rowcount
            if done:
                audit.append(session, AuditLog, "generator", "document.pdf", document_id,
                             {"number": doc.number, "pdf_sha256": sha})
        return self.documents.get(document_id)

    def make_or_schedule(self, document_id: str) -> Document:
        """For a request: try once now; on failure answer with the PDF pending and retry by a job."""
        try:
            return self.make(document_id)
        except Exception:
            log.warning("PDF of document %s failed in the request; a job retries it", document_id, exc_info=True)
            doc = self.documents.get(document_id)
            if doc.pdf_status == "pending":
                self.schedule(document_id)
            return doc

    def schedule(self, document_id: str) -> None:
        self.jobs.enqueue(RENDER_PDF_JOB, document_id)

    def wait(self, document_id: str, seconds: float) -> Document:
        """The document once its PDF is no longer pending, or after `seconds`."""
        deadline = time.monotonic() + seconds
        doc = self.documents.get(document_id)
        while doc.pdf_status == "pending" and time.monotonic() < deadline:
            time.sleep(0.1)
            doc = self.documents.get(document_id)
        return doc

    def retry(self, document_id: str) -> Document:
        """A failed PDF asked for again: pending once more, made by a job."""
        with transaction(self.sessions) as session:
            session.execute(update(Document).where(Document.id == document_id, Document.pdf_status == "failed")
                            .values(pdf_status="pending", pdf_attempts=0, pdf_error=None))
        doc = self.documents.get(document_id)
        if doc.pdf_status == "pending":
            self.schedule(document_id)
        return doc

    def resume_pending(self) -> int:
        """Inline jobs live in memory: after a restart, schedule every PDF still pending."""
        with reading(self.sessions) as session:
            pending = session.execute(select(Document.id).where(Document.pdf_status == "pending")).scalars().all()
        for document_id in pending:
            self.schedule(document_id)
        if pending:
            log.info("resumed %d pending PDF renditions", len(pending))
        return len(pending)

    def _record_failure(self, doc: Document, exc: Exception) -> None:
        reason = f"{exc.__class__.__name__}: {exc}"[:500]
        attempts = Document.pdf_attempts + 1
        with transaction(self.sessions) as session:
            session.execute(
                update(Document).where(Document.id == doc.id, Document.pdf_status == "pending")
                .values(pdf_attempts=attempts, pdf_error=reason,
                        pdf_status=case((attempts >= MAX_ATTEMPTS, "failed"), else_="pending")))
