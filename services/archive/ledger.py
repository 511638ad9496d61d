"""The ledger of sealed files: one hash-chained entry per seal (sequence,
case file, archive number, the sealed file's sha256, time, previous hash).
Verification asks it whether it knows a copy's exact bytes."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.archive.models import Ledger
from shared.audit import append_entry, verify_chain
from shared.db import as_utc, reading


def record(session: Session, case_file_id: str, archive_number: str, sha256: str) -> dict:
    """Append inside the caller's transaction (the one that marks the file sealed)."""
    return append_entry(session, Ledger, case_file_id=case_file_id, archive_number=archive_number, sha256=sha256)


def entry_json(row) -> dict:
    return {"sequence": row.seq, "at": as_utc(row.at).isoformat(), "case_file_id": row.case_file_id,
            "archive_number": row.archive_number, "sha256": row.sha256, "prev_hash": row.prev_hash,
            "hash": row.hash}


class LedgerBook:
    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def find(self, sha256: str) -> dict | None:
        with reading(self.sessions) as session:
            row = session.execute(select(Ledger).where(Ledger.c.sha256 == sha256).order_by(Ledger.c.seq)).first()
        return entry_json(row) if row else None

    def entries(self, after: int, limit: int) -> dict:
        with reading(self.sessions) as session:
            rows = session.execute(select(Ledger).where(Ledger.c.seq > after).order_by(Ledger.c.seq).limit(limit)).all()
            broken = verify_chain(session, Ledger)
        return {"intact": broken is None, "broken_at": broken, "entries": [entry_json(r) for r in rows]}
