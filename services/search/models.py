"""Search persistence: published decisions (redacted only: no column holds
personal data the rules hide) and the audit log.

The database is the source of truth; the search index is derived from it
and can be rebuilt at any time (`zhifa search reindex`).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.audit import audit_table


class Base(DeclarativeBase):
    pass


AuditLog = audit_table(Base.metadata)

PUBLISHED, WITHDRAWN, EXPIRED = "published", "withdrawn", "expired"


class Decision(Base):
    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_status_until", "status", "publish_until"),
                      Index("ix_decisions_decided_on", "decided_on"))
    number: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)            # license|penalty|other
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    agency: Mapped[str] = mapped_column(String(200), nullable=False)
    party: Mapped[str] = mapped_column(String(200), nullable=False)          # name as published
    party_kind: Mapped[str] = mapped_column(String(20), nullable=False)      # person|organization
    decided_on: Mapped[date] = mapped_column(Date, nullable=False)
    publish_until: Mapped[date] = mapped_column(Date, nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    legal_basis: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    content: Mapped[str] = mapped_column(Text, nullable=False, default="")
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # The 双公示 field set of the decision's kind, Chinese keys, redacted.
    disclosure: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # What was hidden, by rule (counts only, never the values): shown to publishers.
    redactions: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    document_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=PUBLISHED)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    published_by: Mapped[str] = mapped_column(String(200), nullable=False)


class SweepRun(Base):
    """One row per day the expiry sweep was claimed: however many processes
    run the daily timer, one of them enqueues the day's sweep."""
    __tablename__ = "sweep_runs"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class PendingPublication(Base):
    """A decision the generator issued that is still to be published (pending.py): kept until a
    decision with its document id is published, or a publisher records why it is not published.
    Only what a publisher's list shows; the decision's text is fetched when it is published."""
    __tablename__ = "pending_publications"
    __table_args__ = (Index("ix_pending_publications_due_on", "due_on"),)
    document_id: Mapped[str] = mapped_column(String(36), primary_key=True)   # the generator's document id
    number: Mapped[str] = mapped_column(String(100), nullable=False)
    doc_type: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)             # license|penalty|other
    agency: Mapped[str] = mapped_column(String(200), nullable=False)
    party: Mapped[str] = mapped_column(String(200), nullable=False)           # the party's name
    case_number: Mapped[str | None] = mapped_column(String(100))
    decided_on: Mapped[date] = mapped_column(Date, nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)                # computed by the generator's calendar
    basis: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    withheld_reason: Mapped[str | None] = mapped_column(String(500))          # not to be published, and why
    withheld_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withheld_by: Mapped[str | None] = mapped_column(String(200))


class PublisherSession(Base):
    """A signed-in publisher's page session (publisher_pages.py), as the archive keeps its
    archivists': the cookie carries a random id whose hash is the key; logout ends the row."""
    __tablename__ = "publisher_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
