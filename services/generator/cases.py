"""The documents of one case, by the case system's case number (办案系统案号).

A request names the case with `case_number` beside `type` and `data`; a
document whose data carries `case.number` (the penalty flow) belongs to that
case when the request names none. Licence documents carry no case in their
data: the case system names the application's case number itself. The
archive collects a case file's documents with `documents_of_case`.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.generator.models import Document
from shared.db import reading
from shared.problems import FieldError

MAX_LENGTH = 100


def case_number_errors(value, path: str) -> list[FieldError]:
    if value is None:
        return []
    if not isinstance(value, str) or not value.strip():
        return [FieldError(path, "案件编号须为非空文本。")]
    if len(value.strip()) > MAX_LENGTH or not value.strip().isprintable():
        return [FieldError(path, f"案件编号须为不超过 {MAX_LENGTH} 个可打印字符。")]
    return []


def case_number_of(value, data: dict) -> str | None:
    """The request's case number, else the data's case.number (checked by the template's schema)."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    case = data.get("case") if isinstance(data, dict) else None
    number = case.get("number") if isinstance(case, dict) else None
    return number.strip() if isinstance(number, str) and number.strip() else None


def documents_of_case(sessions: sessionmaker[Session], case_number: str, offset: int,
                      limit: int) -> tuple[int, list[Document]]:
    """(total, one page of the case's documents in the order they were issued)."""
    where = Document.case_number == case_number.strip()
    with reading(sessions) as session:
        total = session.execute(select(func.count()).select_from(Document).where(where)).scalar_one()
        rows = session.execute(select(Document).where(where).order_by(Document.issued_at, Document.number)
                               .offset(offset).limit(limit)).scalars().all()
    return total, list(rows)
