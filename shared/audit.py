"""Hash-chained logs: the audit log (the full-process record of plan item 4)
and any other chained table, such as the archive's ledger.

Each service keeps its tables in its own database. Every entry stores the
hash of the previous entry, so deleting or editing a row breaks the chain and
`verify_chain` says where.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, insert, select
from sqlalchemy.orm import Session

from shared.db import as_utc, lock

GENESIS = "0" * 64


def chained_table(metadata: MetaData, name: str, *extra_columns: Column) -> Table:
    """A hash-chained table: `seq`, `at`, the caller's columns, `prev_hash`, `hash`.
    Each entry's hash covers seq, time, every extra column (in order) and the
    previous hash, e.g. the archive's ledger:

        chained_table(metadata, "ledger", Column("case_file_id", String(36), nullable=False),
                      Column("sha256", String(64), nullable=False))
    """
    return Table(
        name, metadata,
        Column("seq", Integer, primary_key=True, autoincrement=False),
        Column("at", DateTime(timezone=True), nullable=False),
        *extra_columns,
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False, unique=True),
    )


def audit_table(metadata: MetaData) -> Table:
    """Who did what to which subject: every service's full-process record."""
    return chained_table(
        metadata, "audit_log",
        Column("actor", String(200), nullable=False),
        Column("action", String(100), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("details", Text, nullable=False),
    )


def _extra_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if c.name not in ("seq", "at", "prev_hash", "hash")]


def _canonical(value):
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _entry_hash(seq: int, at: str, values: list, prev: str) -> str:
    payload = json.dumps([seq, at, *values, prev], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def append_entry(session: Session, table: Table, **values) -> dict:
    """Append one entry to any chained table inside the caller's transaction.
    `values` names every extra column; returns {seq, at, prev_hash, hash}."""
    names = _extra_columns(table)
    if set(values) != set(names):
        raise ValueError(f"{table.name} entries need exactly {names}, got {sorted(values)}")
    lock(session, f"audit:{table.name}")
    last = session.execute(
        select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)
    ).first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    at = datetime.now(timezone.utc).replace(microsecond=0)
    digest = _entry_hash(seq, at.isoformat(), [_canonical(values[n]) for n in names], prev)
    session.execute(insert(table).values(seq=seq, at=at, prev_hash=prev, hash=digest, **values))
    return {"seq": seq, "at": at, "prev_hash": prev, "hash": digest}


def append_entries(session: Session, table: Table, entries: list[dict]) -> list[dict]:
    """Append several entries to a chained table inside the caller's transaction,
    in order: one lock, one read of the chain's end and one INSERT for all of them
    (a burst committed together). Each entry names every extra column; returns
    [{seq, at, prev_hash, hash}] in the same order. Same chain as `append_entry`."""
    if not entries:
        return []
    names = _extra_columns(table)
    for values in entries:
        if set(values) != set(names):
            raise ValueError(f"{table.name} entries need exactly {names}, got {sorted(values)}")
    lock(session, f"audit:{table.name}")
    last = session.execute(
        select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)
    ).first()
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    at = datetime.now(timezone.utc).replace(microsecond=0)
    rows, out = [], []
    for values in entries:
        seq += 1
        digest = _entry_hash(seq, at.isoformat(), [_canonical(values[n]) for n in names], prev)
        rows.append({"seq": seq, "at": at, "prev_hash": prev, "hash": digest, **values})
        out.append({"seq": seq, "at": at, "prev_hash": prev, "hash": digest})
        prev = digest
    session.execute(insert(table), rows)
    return out


def details_json(details: dict | None) -> str:
    """The `details` column of an audit entry (canonical JSON)."""
    return json.dumps(details or {}, ensure_ascii=False, sort_keys=True)


def append(session: Session, table: Table, actor: str, action: str, subject: str,
           details: dict | None = None) -> str:
    """Append one audit entry inside the caller's transaction; returns its hash."""
    return append_entry(session, table, actor=actor, action=action, subject=subject,
                        details=details_json(details))["hash"]


def verify_chain(session: Session, table: Table) -> int | None:
    """Return the seq of the first broken entry, or None when the chain is intact."""
    names = _extra_columns(table)
    prev = GENESIS
    expected_seq = 1
    for row in session.execute(select(table).order_by(table.c.seq)):
        values = [_canonical(getattr(row, n)) for n in names]
        digest = _entry_hash(row.seq, as_utc(row.at).isoformat(), values, prev)
        if row.seq != expected_seq or row.prev_hash != prev or row.hash != digest:
            return row.seq
        prev, expected_seq = row.hash, expected_seq + 1
    return None
