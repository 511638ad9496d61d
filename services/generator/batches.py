"""Batches: many documents in one request, issued by background jobs.

The whole batch is checked before anything is stored (one bad entry refuses
the batch, naming `documents/N/...`), then the batch, its entries and one
job per entry are recorded in ONE transaction (an outbox, shared.outbox):
accepted means scheduled, even with Redis down, and a killed worker's entry
is taken over once its lease runs out. An entry is issued under the
idempotency key `batch:<id>:<position>`, so a job that is run again after a
crash finds its document instead of issuing twice (numbers stay gapless).
An entry is done only when every format asked for exists: its document is
registered (numbered) first, then its PDF is made from the stored DOCX.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.generator.documents import DocumentService, request_digest
from services.generator.models import AuditLog, Batch, BatchItem, Document, Outbox
from services.generator.renditions import PdfRenditions
from shared import audit
from shared.db import reading, transaction
from shared.jobs import RETRIES
from shared.outbox import Outbox as OutboxRunner, record
from shared.problems import FieldError, Problem, invalid, invalid_field, not_found

log = logging.getLogger("zhifa.generator.batches")

MAX_BATCH_SIZE = 1000
ISSUE_JOB = "services.generator.tasks.issue_batch_item"
ISSUE_GIVEN_UP = "services.generator.tasks.batch_item_given_up"


class BatchItemMissing(LookupError):
    """A job names a batch entry this database does not have: most likely a job
    of another deployment sharing the Redis server. Failing loudly keeps it
    visible in RQ's failed registry instead of being swallowed as done."""


class BatchService:
    def __init__(self, documents: DocumentService, renditions: PdfRenditions,
                 sessions: sessionmaker[Session], outbox: OutboxRunner):
        self.documents = documents
        self.renditions = renditions
        self.sessions = sessions
        self.outbox = outbox

    def create(self, body: dict, actor: str) -> str:
        entries = body.get("documents")
        if not isinstance(entries, list) or not entries:
            raise invalid_field("documents", "documents 须为非空数组。")
        if len(entries) > MAX_BATCH_SIZE:
            raise invalid_field("documents", f"一个批次最多 {MAX_BATCH_SIZE} 份文书。")
        formats = body.get("formats", ["docx", "pdf"])
        errors: list[FieldError] = [FieldError(k, "不允许的字段。") for k in sorted(set(body) - {"documents", "formats"})]
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                errors.append(FieldError(f"documents/{i}", "须为 JSON 对象。"))
                continue
            try:
                self.documents.prepare({**entry, "formats": formats}, path=f"documents/{i}")
            except Problem as problem:
                if problem.status != 422:
                    raise
                errors += problem.errors
        if errors:
            raise invalid(errors[:200])

        batch_id = str(uuid.uuid4())
        with transaction(self.sessions) as session:
            batch = Batch(id=batch_id, created_at=datetime.now(timezone.utc), created_by=actor,
                          formats=self.documents.check_formats(formats, "formats"), total=len(entries))
            session.add(batch)
            session.add_all(BatchItem(batch_id=batch_id, position=i, type=e["type"], data=e["data"],
                                      case_number=(e.get("case_number") or "").strip() or None)
                            for i, e in enumerate(entries))
            audit.append(session, AuditLog, actor, "batch.created", batch_id, {"total": len(entries)})
            for i in range(len(entries)):
                self._record_job(session, batch_id, i)
        self.outbox.wake()      # handed out by the drain loop: the answer never waits on Redis
        return batch_id

    @staticmethod
    def _record_job(session: Session, batch_id: str, position: int) -> str:
        return record(session, Outbox, ISSUE_JOB, [batch_id, position], on_give_up=ISSUE_GIVEN_UP)

    def record_missing_jobs(self) -> int:
        """At start: a job for each entry left pending without one (accepted before the outbox
        existed); the drain loop hands out everything else pending."""
        with transaction(self.sessions) as session:
            pending = session.execute(select(BatchItem.batch_id, BatchItem.position)
                                      .where(BatchItem.status == "pending")
                                      .order_by(BatchItem.batch_id, BatchItem.position)).all()
            queued = {tuple(args) for args in session.execute(
                select(Outbox.c.args).where(Outbox.c.state == "pending", Outbox.c.task == ISSUE_JOB)).scalars()
                if args} if pending else set()
            missing = [(b, p) for b, p in pending if (b, p) not in queued]
            for batch_id, position in missing:
                self._record_job(session, batch_id, position)
        if missing:
            log.info("recorded jobs for %d pending batch entries that had none", len(missing))
        return len(missing)

    def give_up(self, batch_id: str, position: int, reason: str) -> None:
        """The outbox's runs of this entry kept dying: it fails, with the reason, never pending for ever."""
        self._finish_alone(batch_id, position, "failed", None,
                           {"title": "文书生成失败", "detail": f"生成任务多次中断，已停止重试（{reason}）。"[:500]})

    def run_item(self, batch_id: str, position: int) -> None:
        with transaction(self.sessions) as session:
            item = session.get(BatchItem, (batch_id, position))
            if item is None:
                raise BatchItemMissing(f"batch {batch_id} has no entry {position} in this database")
            if item.status != "pending":
                return
            item.attempts += 1
            attempt, doc_type, data, case_number = item.attempts, item.type, item.data, item.case_number
            batch = session.get(Batch, batch_id)
            actor, formats = batch.created_by, list(batch.formats)

        body = {"type": doc_type, "data": data, "formats": formats, **({"case_number": case_number} if case_number else {})}
        try:
            prepared = self.documents.prepare(body)
            early = []      # the PDF conversion, started while the entry is stored and committed
            try:
                doc, created = self.documents.issue(
                    prepared, actor, idempotency_key=f"batch:{batch_id}:{position}",
                    request_sha256=request_digest(body),
                    in_same_transaction=lambda s, d: self._attach(s, batch_id, position, d.id),
                    on_rendered=lambda docx: early.append(self.renditions.start(docx)))
            except BaseException:
                for future in early:
                    future.cancel()
                raise
            # Only our own DOCX's conversion: a concurrent run of this entry that won has its own.
            started = early[0] if early and created else None
            # raises on failure: the job is retried
            self.renditions.make(doc.id, started=started)
            self._finish_alone(batch_id, position, "done", doc.id, None)
        except Problem as problem:
            # A refusal is final (e.g. the calendar lacks a year): retrying cannot help.
            self._finish_alone(batch_id, position, "failed", None, problem.as_dict())
        except Exception as exc:
            if attempt <= RETRIES:
                raise
            log.exception("batch %s item %d failed after %d attempts", batch_id, position, attempt)
            self._finish_alone(batch_id, position, "failed", None,
                               {"title": "文书生成失败", "detail": f"{exc.__class__.__name__}: {exc}"[:500]})

    @staticmethod
    def _attach(session: Session, batch_id: str, position: int, document_id: str) -> None:
        """The entry's document is registered (and numbered); its PDF may still be missing."""
        session.get(BatchItem, (batch_id, position)).document_id = document_id

    @staticmethod
    def _finish(session: Session, batch_id: str, position: int, status: str, document_id, error) -> None:
        item = session.get(BatchItem, (batch_id, position))
        if item.status == "pending":
            item.status, item.error = status, error
            item.document_id = document_id or item.document_id

    def _finish_alone(self, batch_id, position, status, document_id, error) -> None:
        with transaction(self.sessions) as session:
            self._finish(session, batch_id, position, status, document_id, error)

    def status(self, batch_id: str) -> dict:
        with reading(self.sessions) as session:
            batch = session.get(Batch, batch_id)
            if batch is None:
                raise not_found("批次")
            counts = dict(session.execute(
                select(BatchItem.status, func.count()).where(BatchItem.batch_id == batch_id)
                .group_by(BatchItem.status)).all())
            rows = session.execute(
                select(BatchItem.position, BatchItem.type, BatchItem.status, BatchItem.error,
                       Document.id, Document.number)
                .outerjoin(Document, Document.id == BatchItem.document_id)
                .where(BatchItem.batch_id == batch_id).order_by(BatchItem.position)).all()
        done, failed = counts.get("done", 0), counts.get("failed", 0)
        if done + failed == 0:
            state = "queued"
        elif done + failed < batch.total:
            state = "running"
        else:
            state = "done" if failed == 0 else ("failed" if done == 0 else "partial")
        return {
            "id": batch.id, "status": state, "total": batch.total, "done": done, "failed": failed,
            "documents": [{"position": r.position, "type": r.type, "status": r.status, "id": r.id,
                           "number": r.number, **({"error": r.error} if r.error else {})} for r in rows],
        }
