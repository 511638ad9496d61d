"""Pending publications: decisions the generator issued, kept until published.

The generator tells the search service of every license grant, license
denial and penalty decision it issues (not of a warning-only penalty), with
the publication due date it computed on its working-day calendar: 7 working
days after the decision (国办发〔2018〕118号). The notice is idempotent by
document id. An entry is resolved when a decision with its document id is
published (whichever way: from this list or by POST /v1/decisions), or when
a publisher records why it is not published (a minor party, a secret...);
until then publishers see it pending, and overdue past its due date.
Whether it is published is read from the decisions table, never copied, so
the two cannot disagree.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Callable

from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from services.search.models import AuditLog, Decision, PendingPublication
from shared import audit, text
from shared.db import reading, transaction
from shared.problems import FieldError, Problem, conflict, invalid, invalid_field, not_found
from shared.schema import schema_errors

STATUSES = ("pending", "overdue", "published", "withheld")
_SHORT = {"type": "string", "minLength": 1, "maxLength": 200}
_DATE = {"type": "string", "format": "date"}
NOTICE_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "required": ["document_id", "number", "type", "title", "kind", "agency", "party", "decided_on", "due_on"],
    "properties": {
        "document_id": {"type": "string", "minLength": 1, "maxLength": 36, "pattern": "^[A-Za-z0-9-]+$"},
        "number": {"type": "string", "minLength": 1, "maxLength": 100},
        "type": {"type": "string", "minLength": 1, "maxLength": 64},
        "title": _SHORT, "agency": _SHORT, "party": {"type": "string", "maxLength": 200},
        "kind": {"enum": ["license", "penalty", "other"]},
        "case_number": {"type": ["string", "null"], "maxLength": 100},
        "decided_on": _DATE, "due_on": _DATE, "basis": {"type": "string", "maxLength": 2000},
    },
}
_VALIDATOR = Draft202012Validator(NOTICE_SCHEMA, format_checker=FormatChecker())


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Entry:
    row: PendingPublication
    published_number: str | None       # the decision published with this document id, if any
    today: date

    @property
    def status(self) -> str:
        if self.published_number:
            return "published"
        if self.row.withheld_at is not None:
            return "withheld"
        return "overdue" if self.row.due_on < self.today else "pending"

    def as_dict(self) -> dict:
        r = self.row
        return {"document_id": r.document_id, "number": r.number, "type": r.doc_type, "title": r.title,
                "kind": r.kind, "agency": r.agency, "party": r.party, "case_number": r.case_number,
                "decided_on": r.decided_on.isoformat(), "due_on": r.due_on.isoformat(), "basis": r.basis,
                "status": self.status, "overdue": self.status == "overdue",
                "days_past_due": (self.today - r.due_on).days if self.status == "overdue" else 0,
                "published_number": self.published_number, "withheld_reason": r.withheld_reason,
                "created_at": r.created_at.isoformat() if r.created_at else None}


class PendingPublications:
    def __init__(self, sessions: sessionmaker[Session], today: Callable[[], date]):
        self.sessions = sessions
        self.today = today

    def add(self, raw: dict, actor: str) -> tuple[Entry, bool]:
        """Keep a notice; the same document id again changes nothing: (entry, created)."""
        body, errors = text.clean(raw, "")
        errors = [FieldError(e.path.lstrip("/"), e.message) for e in errors]
        errors += [FieldError(e.path.lstrip("/"), e.message) for e in schema_errors(_VALIDATOR, body, "")]
        if not errors and body["due_on"] < body["decided_on"]:
            errors.append(FieldError("due_on", "公示截止日期不能早于决定日期。"))
        if errors:
            raise invalid(errors)
        with transaction(self.sessions) as session:
            row = session.get(PendingPublication, body["document_id"], with_for_update=True)
            created = row is None
            if created:
                row = PendingPublication(
                    document_id=body["document_id"], number=body["number"], doc_type=body["type"],
                    title=body["title"], kind=body["kind"], agency=body["agency"], party=body["party"],
                    case_number=body.get("case_number"), decided_on=date.fromisoformat(body["decided_on"]),
                    due_on=date.fromisoformat(body["due_on"]), basis=body.get("basis") or "",
                    created_at=utcnow(), created_by=actor)
                session.add(row)
                audit.append(session, AuditLog, actor, "pending.add", row.number,
                             {"document_id": row.document_id, "due_on": row.due_on.isoformat()})
        return self.get(body["document_id"]), created

    def get(self, document_id: str) -> Entry:
        with reading(self.sessions) as session:
            row = session.get(PendingPublication, document_id)
            if row is None:
                raise not_found("待公示决定")
            published = session.execute(select(Decision.number).where(Decision.document_id == document_id)
                                        .limit(1)).scalar()
        return Entry(row, published, self.today())

    def list(self, status: str, offset: int, limit: int) -> tuple[int, list[Entry]]:
        """pending: every one not yet published nor withheld (the overdue ones among them, flagged);
        overdue: those of them past their due date; published; withheld. By due date."""
        if status not in STATUSES:
            raise invalid_field("status", f"取值应为以下之一：{'、'.join(STATUSES)}。")
        p, today = PendingPublication, self.today()
        published = exists().where(Decision.document_id == p.document_id)
        where = {"pending": and_(~published, p.withheld_at.is_(None)),
                 "overdue": and_(~published, p.withheld_at.is_(None), p.due_on < today),
                 "published": published,
                 "withheld": and_(~published, p.withheld_at.is_not(None))}[status]
        with reading(self.sessions) as session:
            total = session.execute(select(func.count()).select_from(p).where(where)).scalar_one()
            rows = list(session.execute(select(p).where(where).order_by(p.due_on, p.number)
                                        .offset(offset).limit(limit)).scalars())
            numbers = dict(session.execute(select(Decision.document_id, Decision.number).where(
                Decision.document_id.in_([r.document_id for r in rows]))).all()) if rows else {}
        return total, [Entry(r, numbers.get(r.document_id), today) for r in rows]

    def withhold(self, document_id: str, reason, actor: str) -> Entry:
        """Not to be published (DOMAIN.md: minors, secrets, privacy...), with the reason recorded."""
        if not isinstance(reason, str) or not reason.strip():
            raise invalid_field("reason", "不予公示须说明理由。")
        if len(reason.strip()) > 500:
            raise invalid_field("reason", "理由不能超过 500 个字符。")
        with transaction(self.sessions) as session:
            row = session.get(PendingPublication, document_id, with_for_update=True)
            if row is None:
                raise not_found("待公示决定")
            if session.execute(select(Decision.number).where(Decision.document_id == document_id)).first():
                raise conflict("already-published", "该决定已公示",
                               f"决定 {row.number} 已公示；如需撤下，请撤下公示并说明理由。")
            if row.withheld_at is None:
                row.withheld_reason, row.withheld_at, row.withheld_by = reason.strip(), utcnow(), actor
                audit.append(session, AuditLog, actor, "pending.withhold", row.number,
                             {"document_id": document_id, "reason": row.withheld_reason})
        return self.get(document_id)

    def require_publishable(self, document_id: str) -> Entry:
        """Before publishing from the list: known, and not recorded as not to be published."""
        entry = self.get(document_id)
        if entry.status == "withheld":
            raise Problem(409, "withheld", "该决定已登记为不予公示",
                          f"决定 {entry.row.number} 已登记为不予公示：{entry.row.withheld_reason}")
        return entry
