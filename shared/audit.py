"""Hash-chained audit log: the full-process record of plan item 4.

Each service keeps one table in its own database. Every entry stores the hash
of the previous entry, so deleting or editing a row breaks the chain and
`verify_chain` says where.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, insert, select
from sqlalchemy.orm import Session

from shared.db import as_utc, lock

GENESIS = "0" * 64


def audit_table(metadata: MetaData) -> Table:
    return Table(
        "audit_log", metadata,
        Column("seq", Integer, primary_key=True, autoincrement=False),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("actor", String(200), nullable=False),
        Column("action", String(100), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("details", Text, nullable=False),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False, unique=True),
    )


def _entry_hash(seq: int, at: str, actor: str, action: str, subject: str, details: str, prev: str) -> str:
    payload = json.dumps([seq, at, actor, action, subject, details, prev], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def append(session: Session, table: Table, actor: str, action: str, subject: str,
           details: dict | None = None) -> str:
    """Append one entry inside the caller's transaction; returns its hash."""
    lock(session, f"audit:{table.name}")
    last = session.execute(
        select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)
    ).first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    at = datetime.now(timezone.utc).replace(microsecond=0)
    details_json = json.dumps(details or {}, ensure_ascii=False, sort_keys=True)
    digest = _entry_hash(seq, at.isoformat(), actor, action, subject, details_json, prev)
    session.execute(insert(table).values(seq=seq, at=at, actor=actor, action=action, subject=subject,
                                         details=details_json, prev_hash=prev, hash=digest))
    return digest


def verify_chain(session: Session, table: Table) -> int | None:
    """Return the seq of the first broken entry, or None when the chain is intact."""
    prev = GENESIS
    expected_seq = 1
    for row in session.execute(select(table).order_by(table.c.seq)):
        digest = _entry_hash(row.seq, as_utc(row.at).isoformat(), row.actor, row.action, row.subject, row.details, prev)
        if row.seq != expected_seq or row.prev_hash != prev or row.hash != digest:
            return row.seq
        prev, expected_seq = row.hash, expected_seq + 1
    return None
