"""Issuing documents: validate, apply the plan's rules, number, render, register.

`DocumentService.prepare` does every check that can refuse a request and
touches nothing; `issue` then takes the number, renders and stores the DOCX
and registers the document in ONE short transaction, so a refused or failed
request never uses up a number. The PDF is made afterwards from the stored
DOCX (renditions.py), outside any transaction: no number lock waits on
LibreOffice.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Callable
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.generator import deadlines as deadline_rules
from services.generator import cases, numbering, penalties, rules, timeliness
from services.generator.agency import AgencyProfiles
from services.generator.catalogue import Catalogue, DocumentType
from services.generator.deadlines import Deadline
from services.generator.models import AuditLog, Document, IdempotencyKey
from services.generator.rendering import printable, printed_url, render_docx
from services.generator.workdays import WorkdayCalendar
from shared import audit, glyphs, text
from shared.blobstore import BlobStore
from shared.dates import CHINA, chinese_date, parse_iso_date, today_in_china
from shared.db import as_utc, reading, transaction
from shared.problems import FieldError, Problem, invalid, invalid_field, not_found
from shared.schema import schema_errors

FORMATS = ("docx", "pdf")
# No 0/O/1/I: the code is read off paper and typed in by citizens.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8


@dataclass
class Prepared:
    """A request that passed every check; only numbering and rendering remain."""
    doc_type: DocumentType
    data: dict
    formats: tuple[str, ...]
    issued_on: date
    agency_id: str
    agency: dict
    remedy_clause: str
    deadlines: list[Deadline]
    warnings: list[dict]
    case_number: str | None = None


def issue_date_of(data: dict) -> str | None:
    """A document is dated `issued_on`; a decision without one is dated the day it was decided."""
    return data.get("issued_on") or (data.get("decision") or {}).get("date")


# Dates of things that have happened by the time a document records them; a
# date ahead of today cannot be true. (Hearing dates, rectification deadlines,
# validity periods and extensions' ends lie ahead and are not listed.)
PAST_DATES = ("issued_on", "decision.date", "application.received_on", "application.accepted_on", "case.filed_on",
              "filing.received_on", "extension.approved_on", "extension.collective_decision_on",
              "review.submitted_on", "review.reviewed_on", "inquiry.date", "inspection.date", "statement.date",
              "hearing.requested_on")
AFTER_THE_FACT = "registered-after-the-fact"
PROVISIONAL_CALENDAR = "provisional-calendar"


def future_date_errors(data: dict, today: date) -> list[FieldError]:
    errors = []
    for dotted in PAST_DATES:
        node = data
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        when = parse_iso_date(node) if isinstance(node, str) else None
        if when and when > today:
            errors.append(FieldError("data/" + dotted.replace(".", "/"),
                                     f"日期{chinese_date(when)}晚于今天（{chinese_date(today)}）：文书不能预先签发，"
                                     "所记载的已发生事项也不能发生在将来。"))
    return errors


def after_the_fact_warning(issued_on: date, today: date) -> dict:
    """The registry's mark of a document dated before the day it was registered (补登记)."""
    year_note = (f"；文号按登记年度{today.year}年编排，不重开已经结束的{issued_on.year}年度文号序列"
                 if issued_on.year < today.year else "")
    return {"code": AFTER_THE_FACT, "path": "data/issued_on",
            "message": f"本文书日期为{chinese_date(issued_on)}，于{chinese_date(today)}在本系统登记，系事后补登记，"
                       f"文书上印有补登记标注{year_note}。"}


def registered_after_the_fact(doc: Document) -> bool:
    return any(w.get("code") == AFTER_THE_FACT for w in doc.warnings or [])


def utc_iso(moment: datetime) -> str:
    return as_utc(moment).isoformat()


def request_digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class PdfNotReady(Problem):
    """The PDF of a registered document is still being made (or failed and waits for a retry)."""

    def __init__(self, doc: Document):
        failed = doc.pdf_status == "failed"
        super().__init__(503, "pdf-failed" if failed else "pdf-pending",
                         "PDF 生成失败" if failed else "PDF 尚在生成",
                         f"文书 {doc.number} 的 PDF 生成失败，请稍后重新请求生成。" if failed
                         else f"文书 {doc.number} 已登记，PDF 正在生成，请稍后再取。")


class DocumentService:
    def __init__(self, catalogue: Catalogue, agencies: AgencyProfiles, calendar: WorkdayCalendar,
                 sessions: sessionmaker[Session], blobs: BlobStore, public_verify_url: str):
        self.catalogue = catalogue
        self.agencies = agencies
        self.calendar = calendar
        self.sessions = sessions
        self.blobs = blobs
        self.public_verify_url = public_verify_url
        # Work recorded in the issuing transaction of every document (single or batch), e.g. the
        # search service's notice of a decision to publish: (session, document) -> None.
        self.on_issue: list[Callable[[Session, Document], None]] = []

    # ---- checks (no side effects) -------------------------------------------------

    def prepare(self, body: dict, path: str = "") -> Prepared:
        """Every check that can refuse a request. `path` prefixes the field
        paths of a refusal, e.g. "documents/3" for an entry of a batch."""
        try:
            return self._prepare(body)
        except Problem as problem:
            if path:
                problem.errors = [FieldError(f"{path}/{e.path}", e.message) for e in problem.errors]
            raise

    def _prepare(self, body: dict) -> Prepared:
        doc_type = self._document_type(body.get("type"), "type")
        formats = self.check_formats(body.get("formats", list(FORMATS)), "formats")
        data = body.get("data")
        if not isinstance(data, dict):
            raise invalid_field("data", "缺少 data 对象。" if data is None else "data 须为 JSON 对象。")
        errors = [FieldError(k, "不允许的字段。") for k in sorted(set(body) - {"type", "data", "formats", "case_number"})]
        # Every later check, and the page, see the same text.
        data, text_errors = text.clean(data, "data")
        errors += text_errors
        if not errors:
            errors += schema_errors(doc_type.validator, data, "data")
        errors += cases.case_number_errors(body.get("case_number"), "case_number")
        errors += glyphs.unprintable_errors(data, "data")
        errors += rules.amount_errors(data, "data")
        errors += penalties.content_errors(data, "data")
        if doc_type.type == "license_non_acceptance_decision":
            errors += rules.non_acceptance_errors(data, "data")
        if doc_type.party_writes:
            errors += rules.prefilled_waiver_errors(data, "data")
        if errors:
            raise invalid(errors)

        today = today_in_china()
        issued_on = parse_iso_date(issue_date_of(data)) or today
        if errs := future_date_errors(data, today):
            raise Problem(422, "date-in-future", "文书日期晚于今天",
                          "文书及其所记载的已发生事项的日期不能晚于今天，请按 errors 中列出的字段核对后重试。", errs)
        chosen = self.agencies.choose(data.get("agency"))
        if "hearing_right" in doc_type.source_schema.get("properties", {}):
            data = self._hearing_right(data, chosen)
        agency = chosen.for_document(data.get("agency"), doc_type.seal)
        remedy_clause = rules.remedy_clause(agency, doc_type.title) if doc_type.remedy else ""
        if doc_type.type == "service_receipt":
            data = self._served_document(data, chosen.name)
        deadlines = deadline_rules.compute_deadlines(list(doc_type.deadlines), data, issued_on, self.calendar)
        lead = next((d for d in deadlines if d.key == "hearing_notice_lead"), None)
        if lead and (errs := rules.hearing_date_errors(data, lead.due_on)):
            raise invalid(errs)
        warnings = timeliness.check(doc_type.type, data, issued_on, self.calendar)
        if issued_on < today:
            warnings.append(after_the_fact_warning(issued_on, today))
        if provisional := [d for d in deadlines if d.provisional]:
            # The registry's flag: review these documents once the year's schedule is loaded.
            warnings.append({"code": PROVISIONAL_CALENDAR, "path": "deadlines",
                             "message": "、".join(f"“{d.name}”" for d in provisional)
                             + "涉及国务院尚未公布节假日安排的年度，暂按法定节假日和周末计算并在文书上注明；"
                               "该年度安排载入后请复核本文书的期限。"})
        return Prepared(doc_type, data, formats, issued_on, chosen.id, agency, remedy_clause, deadlines, warnings,
                        cases.case_number_of(body.get("case_number"), data))

    @staticmethod
    def _hearing_right(data: dict, chosen) -> dict:
        """The hearing right follows from the penalties proposed (处罚法 art. 63): derived when the request
        leaves it out, refused when the request withholds it. An agency may grant it beyond the law."""
        errors = penalties.hearing_right_errors(data, chosen.hearing_thresholds, "data")
        if errors:
            raise invalid(errors, "拟作出的行政处罚依法应当告知当事人有要求听证的权利，请按 errors 中列出的字段更正后重试。")
        if data.get("hearing_right") is None:
            data = {**data, "hearing_right": bool(penalties.hearing_reasons(data, chosen.hearing_thresholds))}
        return data

    def _served_document(self, data: dict, agency_name: str) -> dict:
        """A service receipt names only a document this registry issued; its
        title is the registry's, not the request's."""
        number = data["service"]["document_number"]
        with reading(self.sessions) as session:
            served = session.execute(select(Document.title, Document.agency_name)
                                     .where(Document.number == number)).first()
        if served is None or served.agency_name != agency_name:
            raise invalid_field("data/service/document_number",
                                f"本机关未签发文号为“{number[:100]}”的文书，送达回证只能载明本系统已签发的文书。")
        return {**data, "service": {**data["service"], "document_title": served.title}}

    def _document_type(self, value, field: str) -> DocumentType:
        if not isinstance(value, str) or not value:
            raise invalid_field(field, "缺少文书类型 type。" if value is None else "type 须为文本。")
        doc_type = self.catalogue.get(value)
        if doc_type is None:
            raise Problem(422, "unknown-document-type", "未知的文书类型",
                          "该文书类型不在文书目录中，可用类型见 GET /v1/templates。",
                          [FieldError(field, "未知的文书类型。")])
        return doc_type

    @staticmethod
    def check_formats(value, field: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise invalid_field(field, "formats 须为非空数组，取值 docx、pdf。")
        bad = [v for v in value if v not in FORMATS]
        if bad:
            raise invalid_field(field, f"不支持的格式：{'、'.join(bad)[:100]}，可选 docx、pdf。")
        if "docx" not in value:
            value = ["docx", *value]   # the DOCX is the source every other format is made from
        return tuple(dict.fromkeys(value))

    # ---- issuing ------------------------------------------------------------------

    def issue(self, prepared: Prepared, actor: str, idempotency_key: str | None = None,
              request_sha256: str | None = None,
              in_same_transaction: Callable[[Session, Document], None] | None = None,
              on_rendered: Callable[[bytes], None] | None = None) -> tuple[Document, bool]:
        """Issue one document; returns (document, created). A repeated idempotency
        key with the same request returns the first document and created=False.
        `on_rendered` gets the DOCX as soon as it exists, before it is stored and
        committed (the PDF conversion starts there); the transaction may still fail."""
        if idempotency_key:
            existing = self._replay(actor, idempotency_key, request_sha256)
            if existing:
                return existing, False
        try:
            with transaction(self.sessions) as session:
                doc = self._issue_in(session, prepared, actor, on_rendered)
                if idempotency_key:
                    session.add(IdempotencyKey(actor=actor, key=idempotency_key,
                                               request_sha256=request_sha256 or "", document_id=doc.id))
                if in_same_transaction:
                    in_same_transaction(session, doc)
                for hook in self.on_issue:
                    hook(session, doc)
            return doc, True
        except IntegrityError:
            # A concurrent request with the same idempotency key won; ours rolled back whole.
            if idempotency_key and (existing := self._replay(actor, idempotency_key, request_sha256)):
                return existing, False
            raise

    def _replay(self, actor: str, key: str, request_sha256: str | None) -> Document | None:
        with reading(self.sessions) as session:
            row = session.get(IdempotencyKey, (actor, key))
            if row is None:
                return None
            if row.request_sha256 != (request_sha256 or ""):
                raise Problem(422, "idempotency-key-reused", "幂等键已用于其他请求",
                              "该 Idempotency-Key 已用于内容不同的请求，请为新请求使用新的键。",
                              [FieldError("Idempotency-Key", "该键已对应另一份请求内容。")])
            return session.get(Document, row.document_id)

    def verify_url(self, number: str, code: str) -> str:
        """The public page printed on the document and encoded in its QR code."""
        return f"{self.public_verify_url}?{urlencode({'number': number, 'code': code})}"

    def _issue_in(self, session: Session, prepared: Prepared, actor: str,
                  on_rendered: Callable[[bytes], None] | None = None) -> Document:
        """Number, DOCX and registry row: milliseconds, inside the caller's transaction."""
        # Numbers are taken in the year of registration: a closed year's sequence is never reopened,
        # so a document dated in a past year gets this year's number (and is marked 补登记).
        doc_type = prepared.doc_type
        today = max(today_in_china(), prepared.issued_on)
        year = today.year
        chosen = self.agencies.choose({"profile": prepared.agency_id})
        kind = chosen.number_kind(doc_type.type, doc_type.number_kind)
        seq = numbering.allocate(session, chosen.short_name, kind, year)
        number = numbering.format_number(chosen.short_name, kind, year, seq, chosen.profile.get("number_di") is True)
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        url = self.verify_url(number, code)

        context = printable(prepared.data)
        context.update(
            agency=prepared.agency, number=number, doc_title=doc_type.title,
            issued_on=chinese_date(prepared.issued_on), remedy_clause=prepared.remedy_clause,
            warning_only=penalties.is_warning_only(prepared.data),
            deadlines={d.key: d.printed() for d in prepared.deadlines},
            verification_code=code, verify_url=url, verify_page=printed_url(self.public_verify_url),
            registered_on=chinese_date(today) if prepared.issued_on < today else "",
        )
        docx = render_docx(doc_type.template_path, context, qr_target=url)
        if on_rendered and "pdf" in prepared.formats:
            on_rendered(docx)

        doc = Document(
            id=str(uuid.uuid4()), type=doc_type.type, title=doc_type.title, template_version=doc_type.version,
            number=number, agency=chosen.short_name, agency_name=chosen.name, kind=kind, year=year,
            seq=seq, issued_on=prepared.issued_on, issued_at=datetime.now(timezone.utc), issued_by=actor,
            data=prepared.data, deadlines=[d.as_dict() for d in prepared.deadlines], warnings=prepared.warnings,
            verification_code=code, docx_sha256=self.blobs.put(docx), docx_bytes=len(docx),
            pdf_status="pending" if "pdf" in prepared.formats else "none", pdf_attempts=0,
            case_number=prepared.case_number,
        )
        session.add(doc)
        session.flush()
        audit.append(session, AuditLog, actor, "document.issued", doc.id,
                     {"number": number, "type": doc_type.type, "docx_sha256": doc.docx_sha256})
        return doc

    # ---- reading ------------------------------------------------------------------

    def get(self, document_id: str) -> Document:
        with reading(self.sessions) as session:
            doc = session.get(Document, document_id)
        if doc is None:
            raise not_found("文书")
        return doc

    def file(self, document_id: str, fmt: str) -> tuple[Document, bytes]:
        doc = self.get(document_id)
        if fmt == "docx":
            return doc, self.blobs.get(doc.docx_sha256)
        if doc.pdf_status == "none":
            raise Problem(404, "format-not-generated", "未生成该格式",
                          f"文书 {doc.number} 生成时未请求 PDF 格式。")
        if doc.pdf_status != "done":
            raise PdfNotReady(doc)
        return doc, self.blobs.get(doc.pdf_sha256)

    def audit_log(self, after: int = 0, limit: int = 100) -> dict:
        """The full-process record (plan item 4): entries after `after`, and
        whether the whole hash chain is still intact."""
        with reading(self.sessions) as session:
            broken_at = audit.verify_chain(session, AuditLog)
            rows = session.execute(select(AuditLog).where(AuditLog.c.seq > after)
                                   .order_by(AuditLog.c.seq).limit(limit)).all()
        return {"intact": broken_at is None, "broken_at": broken_at,
                "entries": [{"seq": r.seq, "at": utc_iso(r.at), "actor": r.actor, "action": r.action,
                             "subject": r.subject, "details": json.loads(r.details),
                             "prev_hash": r.prev_hash, "hash": r.hash} for r in rows]}

    def verify(self, number: str, code: str) -> dict:
        with reading(self.sessions) as session:
            doc = session.execute(select(Document).where(Document.number == number)).scalar_one_or_none()
        if doc is None or not hmac.compare_digest(doc.verification_code.encode(), code.strip().upper().encode()):
            return {"authentic": False}
        # A number of a year before the one it was registered in cannot have been issued by this registry
        # (numbering never reopens a closed year): whatever the row says, it is not called authentic.
        if doc.year != as_utc(doc.issued_at).astimezone(CHINA).year or doc.year < doc.issued_on.year:
            return {"authentic": False}
        return {"authentic": True, "type": doc.type, "title": doc.title, "number": doc.number,
                "issued_at": utc_iso(doc.issued_at), "issued_on": doc.issued_on.isoformat(),
                "agency": doc.agency_name, "sha256": doc.pdf_sha256 or doc.docx_sha256,
                "sha256_of": "pdf" if doc.pdf_sha256 else "docx",
                "registered_after_the_fact": registered_after_the_fact(doc)}
