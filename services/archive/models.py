"""Archive persistence: case files, their items, the ledger of sealed files
and the audit log."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Column, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.audit import audit_table, chained_table
from shared.outbox import outbox_table


class Base(DeclarativeBase):
    pass


AuditLog = audit_table(Base.metadata)

# Seal jobs recorded with the change to "sealing" (shared.outbox).
Outbox = outbox_table(Base.metadata)

# One entry per sealed file: which case file, which exact bytes. Each entry
# hashes the previous one, so a removed or edited entry shows.
Ledger = chained_table(
    Base.metadata, "ledger",
    Column("case_file_id", String(36), nullable=False),
    Column("archive_number", String(100), nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
)


class CaseFile(Base):
    __tablename__ = "case_files"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    archive_number: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)   # 档号
    fonds: Mapped[str] = mapped_column(String(50), nullable=False)                          # 全宗号
    fonds_name: Mapped[str] = mapped_column(String(200), nullable=False)                    # 全宗名称
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    case_type: Mapped[str] = mapped_column(String(50), nullable=False)
    party: Mapped[str] = mapped_column(String(200), nullable=False)            # the party's name, as printed
    # The shared vocabulary's party {kind, name, id_type, id_number, credit_code, ...}: what each item's
    # party is checked against (一案一卷). None on files opened before it was asked for.
    party_detail: Mapped[dict | None] = mapped_column(JSON)
    case_number: Mapped[str | None] = mapped_column(String(100))              # 案件编号 (case.number)
    secrecy: Mapped[str | None] = mapped_column(String(10))                   # 密级 (GB/T 9705 cover)
    filing_unit: Mapped[str | None] = mapped_column(String(200))              # 立卷单位
    variant: Mapped[str | None] = mapped_column(String(30))                   # the flow, when named (binding.json)
    decision_number: Mapped[str] = mapped_column(String(100), nullable=False)
    handling_unit: Mapped[str] = mapped_column(String(200), nullable=False)
    opened_on: Mapped[date] = mapped_column(Date, nullable=False)
    closed_on: Mapped[date] = mapped_column(Date, nullable=False)
    retention: Mapped[str] = mapped_column(String(10), nullable=False)
    compiled_by: Mapped[str | None] = mapped_column(String(100))   # 立卷人
    checked_by: Mapped[str | None] = mapped_column(String(100))    # 检查人
    notes: Mapped[str | None] = mapped_column(Text)                # 备考表 remarks of the archivist
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    # open -> sealing (a job assembles and signs) -> sealed; a failed job returns it to open.
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")
    override_reason: Mapped[str | None] = mapped_column(Text)
    checks_at_seal: Mapped[dict | None] = mapped_column(JSON)
    seal_error: Mapped[str | None] = mapped_column(String(500))
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sealed_by: Mapped[str | None] = mapped_column(String(200))
    sealed_sha256: Mapped[str | None] = mapped_column(String(64))
    sealed_bytes: Mapped[int | None] = mapped_column(BigInteger)
    pages: Mapped[int | None] = mapped_column(Integer)
    ledger_seq: Mapped[int | None] = mapped_column(Integer)
    items: Mapped[list["Item"]] = relationship(back_populates="case_file", order_by="Item.position")


class Item(Base):
    """One document or piece of evidence. The original stays byte for byte
    (original_sha256); what is bound into the file is its PDF rendition
    (pdf_sha256: the same blob for a PDF, img2pdf pages for a scan, none for
    audio and video, which get a listing page)."""
    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("case_file_id", "position"), UniqueConstraint("case_file_id", "document_id"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_file_id: Mapped[str] = mapped_column(ForeignKey("case_files.id"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)        # order of addition
    kind: Mapped[str] = mapped_column(String(10), nullable=False)         # document | evidence
    category: Mapped[str] = mapped_column(String(20), nullable=False)     # binding group (binding.py)
    source: Mapped[str] = mapped_column(String(10), nullable=False)       # generator | upload
    doc_type: Mapped[str | None] = mapped_column(String(64))              # generator document type
    document_id: Mapped[str | None] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    number: Mapped[str | None] = mapped_column(String(100))               # 文号
    refers_to: Mapped[str | None] = mapped_column(String(100))            # a 送达回证's document number: bound after it
    # The generated document this upload is the signed and stamped original of: the scan is bound as the
    # record, the generated PDF embedded beside it as its rendition.
    signs_item_id: Mapped[str | None] = mapped_column(String(36))
    caption: Mapped[dict | None] = mapped_column(JSON)                    # a photo's 拍摄地点, 拍摄人, 证明对象
    author: Mapped[str | None] = mapped_column(String(200))               # 责任者
    date: Mapped[date | None] = mapped_column(Date)
    format: Mapped[str] = mapped_column(String(10), nullable=False)       # pdf jpeg png tiff mp3 mp4 …
    media_type: Mapped[str] = mapped_column(String(100), nullable=False)
    filename: Mapped[str | None] = mapped_column(String(255))             # the client's name, for display only
    original_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    original_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    registry_sha256: Mapped[str | None] = mapped_column(String(64))       # the generator's record of the PDF
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    pages: Mapped[int] = mapped_column(Integer, nullable=False)           # pages bound (listing page for media)
    duration_seconds: Mapped[float | None] = mapped_column()
    inspection: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)   # e.g. unembedded fonts
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    added_by: Mapped[str] = mapped_column(String(200), nullable=False)
    case_file: Mapped[CaseFile] = relationship(back_populates="items")


class PageSession(Base):
    """A signed-in archivist's page session, held here so that it can end: the
    cookie carries only a random id (whose hash is the key), logout ends the
    row, and each request checks that the token it was opened with is still
    in the current key list (ApiKeys.find), so a revoked token's sessions die
    with it."""
    __tablename__ = "page_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)      # sha256 of the cookie's id
    token_digest: Mapped[str] = mapped_column(String(64), nullable=False)   # HMAC of the token: which key, not the key
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# Every column that names a blob of the store (zhifa fsck: a blob none names is an orphan).
# Not registry_sha256: the generator's record of a document, whose blob is pdf_sha256 here.
BLOB_COLUMNS = (Item.__table__.c.original_sha256, Item.__table__.c.pdf_sha256, CaseFile.__table__.c.sealed_sha256,
                Ledger.c.sha256)
