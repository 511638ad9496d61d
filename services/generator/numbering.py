"""Document numbers (文号): agency short name + kind + 〔year〕 + N号 (GB/T 9704-2012 §7.2.4:
the sequence takes no 第 and no leading zeros; a profile may choose "第" with "number_di": true).

Gapless and never duplicated per (agency, kind, year): the counter row is
locked by the allocating transaction (UPDATE takes a row lock on PostgreSQL;
SQLite transactions hold the write lock from BEGIN IMMEDIATE), and it is the
same transaction that stores the document, so a failed issue rolls the
number back instead of skipping it.
"""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.generator.models import NumberCounter


def format_number(short_name: str, kind: str, year: int, seq: int, di: bool = False) -> str:
    # GB/T 9704: 六角括号 around the year, no 第 and no leading zeros in the sequence.
    return f"{short_name}{kind}〔{year}〕{'第' if di else ''}{seq}号"


def allocate(session: Session, agency: str, kind: str, year: int) -> int:
    """Take the next sequence number inside the caller's transaction: one UPDATE … RETURNING
    when the counter exists (every number but a year's first), Core statements on the table."""
    counters = NumberCounter.__table__
    key = (counters.c.agency == agency) & (counters.c.kind == kind) & (counters.c.year == year)
    take = update(counters).where(key).values(last=counters.c.last + 1).returning(counters.c.last)
    taken = session.execute(take).scalar()
    if taken is not None:
        return taken
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    first = session.execute(insert(counters).values(agency=agency, kind=kind, year=year, last=1)
                            .on_conflict_do_nothing().returning(counters.c.last)).scalar()
    # None: a concurrent transaction created the counter first (PostgreSQL); its row lock now orders us
    return first if first is not None else session.execute(take).scalar_one()
