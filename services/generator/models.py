"""Generator persistence: the registry of issued documents, number counters,
idempotency keys, batches, the job outbox and the audit log."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.audit import audit_table
from shared.outbox import outbox_table


class Base(DeclarativeBase):
    pass


AuditLog = audit_table(Base.metadata)
# PDF and batch-entry jobs, recorded in the transaction that needs them (shared.outbox).
Outbox = outbox_table(Base.metadata)


class NumberCounter(Base):
    """Last sequence used per (agency, kind, year). Locked row-wise while a
    number is taken, so numbers are gapless and unique across processes."""
    __tablename__ = "number_counters"
    agency: Mapped[str] = mapped_column(String(50), primary_key=True)
    kind: Mapped[str] = mapped_column(String(50), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("agency", "kind", "year", "seq"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[str] = mapped_column(String(100), nullable=False)
    template_version: Mapped[str] = mapped_column(String(20), nullable=False)
    number: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    agency: Mapped[str] = mapped_column(String(50), nullable=False)      # agency short name
    agency_name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(50), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    issued_on: Mapped[date] = mapped_column(Date, nullable=False)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    issued_by: Mapped[str] = mapped_column(String(200), nullable=False)
    data: Mapped[dict] = mapped_column(JSON, nullable=False)
    deadlines: Mapped[list] = mapped_column(JSON, nullable=False)
    verification_code: Mapped[str] = mapped_column(String(20), nullable=False)
    docx_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    docx_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    # The PDF is a rendition derived from the stored DOCX after the number is
    # committed: "none" (not asked for), "pending", "done" or "failed" (it
    # can be asked for again; the document and its number never change).
    pdf_status: Mapped[str] = mapped_column(String(10), nullable=False, default="none")
    pdf_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    pdf_error: Mapped[str | None] = mapped_column(String(500))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    pdf_bytes: Mapped[int | None] = mapped_column(Integer)
    warnings: Mapped[list] = mapped_column(JSON, nullable=False, default=list)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    actor: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), nullable=False)


class Batch(Base):
    __tablename__ = "batches"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    formats: Mapped[list] = mapped_column(JSON, nullable=False)
    total: Mapped[int] = mapped_column(Integer, nullable=False)
    items: Mapped[list["BatchItem"]] = relationship(back_populates="batch", order_by="BatchItem.position")


class BatchItem(Base):
    __tablename__ = "batch_items"
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    data: Mapped[dict] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")  # pending|done|failed
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    document_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"))
    error: Mapped[dict | None] = mapped_column(JSON)
    batch: Mapped[Batch] = relationship(back_populates="items")


# Every column that names a blob of the store (zhifa fsck: a blob none names is an orphan).
BLOB_COLUMNS = (Document.__table__.c.docx_sha256, Document.__table__.c.pdf_sha256)
