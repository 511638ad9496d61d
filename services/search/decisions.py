"""Publishing decisions: validate, refuse what must not be published, redact,
store, index; withdraw; expire after the publication period.

`DecisionService.prepare` does everything that can refuse a request and
touches nothing (the generator is asked first, outside any transaction);
`publish` stores the redacted decision and its audit entry in one short
transaction, shared with the other publications under way (group_commit.py),
and then indexes it. The database holds only redacted text, so
nothing that reaches a page, the index or an export can carry what the
rules hide.
"""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Callable, Iterator

from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.search import publication
from services.search.group_commit import GroupCommitter
from services.search.index import IndexDoc, SearchIndex, SearchResult
from services.search.models import EXPIRED, PUBLISHED, WITHDRAWN, AuditLog, Decision
from services.search.public_texts import ADJUSTMENTS_SCHEMA, Outcome, redact_decision, redact_note
from services.search.redaction import Redactor
from shared import audit, text
from shared.db import reading, transaction
from shared.problems import FieldError, Problem, invalid, invalid_field, not_found
from shared.schema import schema_errors

log = logging.getLogger("zhifa.search")
WITHDRAWN_VISIBLE_SECONDS = 5.0     # how long a withdrawal waits for the index commit

_TEXT = {"type": "string", "maxLength": 100_000}
_SHORT = {"type": "string", "maxLength": 200}
_DATE = {"type": "string", "format": "date"}
DECISION_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object", "additionalProperties": False,
    "properties": {
        "number": {"type": "string", "minLength": 1, "maxLength": 100},
        "kind": {"enum": ["license", "penalty", "other"]},
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "agency": {"type": "string", "minLength": 1, "maxLength": 200},
        "agency_credit_code": _SHORT,
        "source_unit": _SHORT,
        "party": {"type": "object", "required": ["kind", "name"], "properties": {
            "kind": {"enum": ["person", "organization"]},
            "category": {"enum": ["person", "organization", "individual_business"]},
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "id_type": _SHORT, "id_number": _SHORT, "credit_code": _SHORT,
            "legal_representative": _SHORT, "address": _SHORT, "phone": _SHORT,
            "minor": {"type": "boolean"}}},
        "decided_on": _DATE,
        "summary": _TEXT, "content": _TEXT, "text": _TEXT,
        "legal_basis": {"type": "array", "maxItems": 50, "items": {"type": "string", "maxLength": 500}},
        "penalties": {"type": "array", "maxItems": 20, "items": {
            "type": "object", "required": ["kind"], "properties": {
                "kind": {"type": "string", "minLength": 1, "maxLength": 50},
                "amount_yuan": {"type": "number", "minimum": 0, "maximum": 1e12}}}},
        "violation_type": _SHORT,
        "confiscated_yuan": {"type": "number", "minimum": 0, "maximum": 1e12},
        "revoked_license": _SHORT,
        "license": {"type": "object", "additionalProperties": False, "properties": {
            "category": {"enum": ["普通", "特许", "认可", "核准", "登记", "其他"]},
            "certificate_name": _SHORT, "number": _SHORT, "valid_from": _DATE, "valid_to": _DATE}},
        "persons": {"type": "array", "maxItems": 50, "items": {"type": "string", "minLength": 2, "maxLength": 20}},
        "confidentiality": {"enum": ["none", "state_secret", "trade_secret", "personal_privacy"]},
        "sector": {"enum": ["general", "special_equipment", "work_safety", "fire"]},
        "publish_until": _DATE,
        "document_id": {"type": "string", "minLength": 1, "maxLength": 36, "pattern": "^[A-Za-z0-9-]+$"},
        "redaction": ADJUSTMENTS_SCHEMA,
    },
}
REQUIRED = ("number", "kind", "title", "agency", "party", "decided_on")
_VALIDATOR = Draft202012Validator(DECISION_SCHEMA, format_checker=FormatChecker())


@dataclass
class Prepared:
    """A decision that may be published, already redacted."""
    body: dict                      # the request as validated (personal data included; never stored)
    values: dict                    # the Decision row's columns, redacted
    outcome: Outcome                # how each public text was redacted (for the preview and the audit)
    indexed: tuple | None = None    # (IndexDoc, index fields) when segmented by a preparing process


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class DecisionService:
    def __init__(self, sessions: sessionmaker[Session], index: SearchIndex, redactor: Redactor,
                 fetch_document: Callable[[str], dict] | None = None,
                 today: Callable[[], date] | None = None):
        from shared.dates import today_in_china
        self.sessions = sessions
        self.index = index
        self.redactor = redactor
        self.fetch_document = fetch_document
        self.today = today or today_in_china
        self._group: GroupCommitter | None = None
        self.pool = None        # a PreparePool in a served process (preparing.py)
        self._committer_lock = threading.Lock()

    # -- preparing ------------------------------------------------------------------

    def prepare(self, raw: dict) -> Prepared:
        """Every check that can refuse the request; touches nothing. In a served
        process, done by a preparing process (preparing.py) unless the generator is asked."""
        pool = self.pool
        if pool is not None and isinstance(raw, dict) and not raw.get("document_id"):
            from services.search.preparing import WorkerLost
            try:
                prepared, indexed = pool.prepare(raw, self.today())
            except WorkerLost:
                log.warning("a preparing process was lost; this publication is prepared here", exc_info=True)
                return self._prepare(raw)
            prepared.indexed = indexed
            return prepared
        return self._prepare(raw)

    def _prepare(self, raw: dict) -> Prepared:
        body, errors = text.clean(raw, "")
        errors = [FieldError(e.path.lstrip("/"), e.message) for e in errors]
        if errors:
            raise invalid(errors)
        errors = schema_errors(_VALIDATOR, body, "")
        if errors:
            raise invalid([FieldError(e.path.lstrip("/"), e.message) for e in errors])
        if body.get("document_id"):
            body = self._merge_document(body)
        missing = [FieldError(name, "缺少必填字段。") for name in REQUIRED if not body.get(name)]
        if missing:
            raise invalid(missing)
        refused = publication.refusals(body)
        if refused:
            raise publication.not_publishable(refused)
        until, errors = publication.publish_until(body, self.today())
        if errors:
            raise invalid(errors)
        return self._redact(body, until)

    def _merge_document(self, body: dict) -> dict:
        """Fields from the generator's record; the request adds what the record lacks."""
        from services.search.sources import decision_fields
        if self.fetch_document is None:
            raise invalid_field("document_id", "未配置文书生成服务，无法按文书编号发布。")
        fetched = decision_fields(self.fetch_document(body["document_id"]))
        if body.get("number") and body["number"] != fetched["number"]:
            raise invalid_field("number", f"与文书生成服务登记的文号 {fetched['number']} 不一致。")
        return {**fetched, **{k: v for k, v in body.items() if v not in (None, "", [], {})}}

    def _redact(self, body: dict, until: date) -> Prepared:
        """The one redaction pass; every public column derives from its result."""
        outcome = redact_decision(self.redactor, {k: v for k, v in body.items() if k != "redaction"},
                                  body.get("redaction"))
        public = outcome.body
        party = public["party"]
        values = dict(
            number=public["number"], kind=public["kind"], title=public["title"], agency=public["agency"],
            party=party["name"], party_kind=party["kind"], decided_on=date.fromisoformat(public["decided_on"]),
            publish_until=until, summary=public.get("summary") or "", legal_basis=public.get("legal_basis") or [],
            content=public.get("content") or "", text=public.get("text") or "",
            disclosure=publication.disclosure(public, until), redactions=outcome.counts(),
            document_id=public.get("document_id"))
        return Prepared(body, values, outcome)

    def preview(self, raw: dict) -> dict:
        """What would be shown, each hidden span marked with its rule, and the digest that
        publishing with the same adjustments must match."""
        try:
            prepared = self.prepare(raw)
        except Problem as problem:
            if problem.type != "not-publishable":
                raise
            return {"publishable": False, "problem": problem.as_dict()}
        outcome = prepared.outcome
        by_publisher = {(a["field"], a["start"], a["end"]) for a in outcome.adjusted if a["action"] == "hide"}
        fields = {}
        for path, result in outcome.results.items():
            original = outcome.originals[path]
            fields[path] = {"text": result.text, "marked": result.marked_html(original),
                            "spans": [{"start": s.start, "end": s.end, "rule": s.rule, "label": s.label,
                                       "replacement": s.replacement,
                                       "source": "publisher" if (path, s.start, s.end) in by_publisher else "rule"}
                                      for s in result.spans]}
        return {"publishable": True, "decision": public_json(prepared.values), "fields": fields,
                "redactions": prepared.values["redactions"], "adjustments": outcome.adjusted,
                "digest": outcome.digest}

    # -- state changes ----------------------------------------------------------------

    def publish(self, prepared: Prepared, actor: str) -> tuple[Decision, bool]:
        """Store (or replace) and index; (decision, created). Stored together with the
        other publications under way (group_commit.py): this one's outcome or error."""
        return self._committer.submit((prepared, actor))

    @property
    def _committer(self) -> GroupCommitter:
        with self._committer_lock:
            if self._group is None:
                self._group = GroupCommitter(self._store, key=lambda item: item[0].values["number"],
                                             name="search-publish")
            return self._group

    def _store(self, items: list[tuple[Prepared, str]]) -> list[tuple[Decision, bool]]:
        """One transaction for a batch of publications: one locking read of their rows, one
        INSERT of the new ones, one audit-chain lock and insert; then one queued index write.
        Core statements, not the ORM's unit of work: its flush took most of the committer's
        time, under the GIL the searches of this process need (py-spy --gil)."""
        now = utcnow()
        table = Decision.__table__
        results, entries, new_rows = [], [], []
        with transaction(self.sessions) as session:
            # locked in number order: two processes' batches cannot deadlock
            existing = {r.number: r for r in session.execute(
                select(table.c.number, table.c.status, table.c.published_at)
                .where(table.c.number.in_([p.values["number"] for p, _ in items]))
                .order_by(table.c.number).with_for_update())}
            for prepared, actor in items:
                values = prepared.values
                old = existing.get(values["number"])
                created = old is None
                row = {**values, "status": PUBLISHED, "status_reason": None, "updated_at": now,
                       "published_by": actor,
                       "published_at": old.published_at if old is not None and old.status == PUBLISHED else now}
                if created:
                    new_rows.append(row)
                else:
                    session.execute(update(table).where(table.c.number == values["number"])
                                    .values({k: v for k, v in row.items() if k != "number"}))
                entries.append(dict(actor=actor, action="publish" if created else "replace",
                                    subject=values["number"], details=audit.details_json(
                                        {"kind": values["kind"], "publish_until": values["publish_until"].isoformat(),
                                         "redactions": values["redactions"], "document_id": values["document_id"],
                                         "redaction_digest": prepared.outcome.digest,
                                         "adjustments": prepared.outcome.adjusted})))
                results.append((Decision(**row), created))     # what the row now holds, not read back
            if new_rows:
                session.execute(insert(table), new_rows)
            audit.append_entries(session, AuditLog, entries)
        self.index_many([d for d, _ in results],
                        {p.values["number"]: p.indexed for p, _ in items if p.indexed is not None})
        return results

    def close(self) -> None:
        """Store the publications under way, then stop the committer."""
        with self._committer_lock:
            group, self._group = self._group, None
            pool, self.pool = self.pool, None
        if group is not None:
            group.close()
        if pool is not None:
            pool.close()

    def index_many(self, decisions: list[Decision], segmented: dict | None = None) -> None:
        """After commit: a failure leaves the database right and the index to `reindex`.
        `segmented`: number → (IndexDoc, index fields) computed by a preparing process."""
        try:
            self.index.upsert([index_doc(d) for d in decisions], segmented or None)
        except Exception:
            log.exception("could not index %s; run `zhifa search reindex`", ", ".join(d.number for d in decisions))

    def withdraw(self, number: str, reason: str, actor: str) -> Decision:
        reason = (reason or "").strip()
        if not reason:
            raise invalid_field("reason", "撤下公示须说明理由。")
        if len(reason) > 500:
            raise invalid_field("reason", "理由不能超过 500 个字符。")
        with transaction(self.sessions) as session:
            decision = session.get(Decision, number, with_for_update=True)
            if decision is None:
                raise not_found(f"决定 {number} ")
            if decision.status == WITHDRAWN:
                return decision
            # The reason is shown on the 410 page, in the API and in the statistics: redacted like
            # the decision itself (a lawyer's name, an ID number or a phone must not go out).
            reason = redact_note(self.redactor, reason, decision.party, decision.party_kind == "person",
                                 tuple(n for n in [(decision.disclosure or {}).get("法定代表人")] if n))[:500]
            decision.status, decision.status_reason, decision.updated_at = WITHDRAWN, reason, utcnow()
            audit.append(session, AuditLog, actor, "withdraw", number, {"reason": reason})
        self.index.delete(number)
        # Searches read the index only: answer once no process's index shows it (this process
        # hides a queued delete at once; others see the commit within a second).
        try:
            self.index.refresh(timeout=WITHDRAWN_VISIBLE_SECONDS)
        except Exception:
            log.warning("withdrawal of %s not yet committed to the search index; it will be", number)
        return decision

    def sweep_expired(self, actor: str = "system:sweep", batch: int = 500) -> list[str]:
        """Take down every decision whose publication period has ended, `batch` to a
        transaction (the first sweep of a large register takes thousands at once)."""
        today = self.today()
        with reading(self.sessions) as session:
            numbers = list(session.scalars(select(Decision.number).where(
                Decision.status == PUBLISHED, Decision.publish_until < today).order_by(Decision.number)))
        done: list[str] = []
        for at in range(0, len(numbers), batch):
            expired = []
            with transaction(self.sessions) as session:
                for decision in session.scalars(select(Decision).where(
                        Decision.number.in_(numbers[at:at + batch]), Decision.status == PUBLISHED,
                        Decision.publish_until < today).order_by(Decision.number).with_for_update()):
                    decision.status, decision.updated_at = EXPIRED, utcnow()
                    decision.status_reason = f"公示期已于 {decision.publish_until} 届满"
                    expired.append(decision)
                session.flush()
                audit.append_entries(session, AuditLog, [
                    dict(actor=actor, action="expire", subject=d.number,
                         details=audit.details_json({"publish_until": d.publish_until.isoformat()}))
                    for d in expired])
            for decision in expired:
                self.index.delete(decision.number)
            done.extend(d.number for d in expired)
        return done

    # -- reading ------------------------------------------------------------------

    def get_public(self, number: str) -> Decision:
        """A decision as citizens may see it: 404 if unknown, 410 once withdrawn or expired."""
        with reading(self.sessions) as session:
            decision = session.get(Decision, number)
        if decision is None:
            raise not_found(f"决定 {number} ")
        if decision.status == PUBLISHED and decision.publish_until < self.today():
            decision.status, decision.status_reason = EXPIRED, f"公示期已于 {decision.publish_until} 届满"
        if decision.status != PUBLISHED:
            # An expired decision ran its full period; only a withdrawal was taken down.
            kind, title = (("decision-expired", "该决定公示期已届满") if decision.status == EXPIRED
                           else ("decision-withdrawn", "该决定已撤下公示"))
            raise Problem(410, kind, title, f"决定 {number} 已不再公示：{decision.status_reason or ''}".rstrip("："))
        return decision

    def public_decisions(self, kind: str | None = None, batch: int = 1000) -> Iterator[Decision]:
        """Every decision on show, by number, read in batches (export, reindex)."""
        last = ""
        while True:
            with reading(self.sessions) as session:
                stmt = select(Decision).where(Decision.status == PUBLISHED, Decision.publish_until >= self.today(),
                                              Decision.number > last).order_by(Decision.number).limit(batch)
                if kind:
                    stmt = stmt.where(Decision.kind == kind)
                rows = list(session.scalars(stmt))
            yield from rows
            if len(rows) < batch:
                return
            last = rows[-1].number

    def audit_log(self, after: int, limit: int) -> dict:
        with reading(self.sessions) as session:
            broken = audit.verify_chain(session, AuditLog)
            rows = session.execute(select(AuditLog).where(AuditLog.c.seq > after)
                                   .order_by(AuditLog.c.seq).limit(limit)).all()
        return {"intact": broken is None, "broken_at": broken,
                "entries": [{"seq": r.seq, "at": r.at.isoformat(), "actor": r.actor, "action": r.action,
                             "subject": r.subject, "details": json.loads(r.details), "hash": r.hash}
                            for r in rows]}


def index_doc(d: Decision) -> IndexDoc:
    return index_values({name: getattr(d, name) for name in _INDEXED})


_INDEXED = ("number", "kind", "title", "agency", "party", "decided_on", "publish_until", "summary",
            "legal_basis", "content", "text")


def index_values(v: dict) -> IndexDoc:
    """What the index holds of a decision (its columns as a row or as prepared values)."""
    body = "\n".join(p for p in (v["summary"], "；".join(v["legal_basis"] or []), v["content"], v["text"]) if p)
    return IndexDoc(v["number"], v["kind"], v["title"], v["agency"], v["party"], v["decided_on"],
                    v["publish_until"], body)


def public_json(values: dict | Decision) -> dict:
    """A decision as the public API shows it (only redacted columns)."""
    get = values.get if isinstance(values, dict) else (lambda k, default=None: getattr(values, k, default))
    return {"number": get("number"), "kind": get("kind"), "title": get("title"), "agency": get("agency"),
            "party": get("party"), "party_kind": get("party_kind"),
            "decided_on": get("decided_on").isoformat(), "publish_until": get("publish_until").isoformat(),
            "summary": get("summary"), "legal_basis": get("legal_basis"), "content": get("content"),
            "text": get("text"), "disclosure": get("disclosure")}


def search(decisions: DecisionService, query) -> SearchResult:
    """The index's answer for today: expired decisions are filtered by the index itself
    (`publish_until`), withdrawn ones leave it with the withdrawal (`withdraw` waits for
    that). No database round trip per search: under load one cost more than the search."""
    from dataclasses import replace
    return decisions.index.search(replace(query, today=decisions.today()))
