"""Decisions to publish: the search service is told of each one the generator issues.

A license grant, license denial or penalty decision carries the deadline
`publication_decision` (7 working days after the decision, 国办发〔2018〕118号,
computed on the generator's working-day calendar; deadlines.py leaves it out
of a warning-only penalty, which is not published). Such a document gets,
in the transaction that registers it, an outbox row (shared.outbox) whose job
POSTs the decision and its due date to the search service's
`/v1/pending`; the search service keeps it idempotently by document id. A
run that fails is retried by the outbox; when the outbox gives up (the
search service down for a long while), a fresh row is recorded for later,
so the notice is retried until the search service has it.
"""
from __future__ import annotations

import logging
from typing import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from services.generator.models import Document, Outbox
from shared.http import ServiceClient
from shared.outbox import Outbox as OutboxRunner, record

log = logging.getLogger("zhifa.generator.publication")

DEADLINE_KEY = "publication_decision"
NOTIFY_JOB = "services.generator.tasks.notify_publication"
NOTIFY_GIVEN_UP = "services.generator.tasks.publication_notice_given_up"
# After the outbox gave up (its runs spread over about ten minutes), the next round starts this much later.
RETRY_LATER_SECONDS = 3600
# Generator types that are decisions, and the kind they are published as (the search service's kinds).
KINDS = {"penalty_decision": "penalty", "license_grant_decision": "license", "license_denial_decision": "other"}


def publication_deadline(doc: Document) -> dict | None:
    """The document's publication deadline, if it is a decision to publish."""
    return next((d for d in doc.deadlines or [] if d.get("key") == DEADLINE_KEY), None)


def notice(doc: Document) -> dict:
    """What the search service keeps of a pending publication (no personal data beyond the
    party's name, which is published with the decision)."""
    deadline = publication_deadline(doc) or {}
    party = (doc.data or {}).get("party") or {}
    decision = (doc.data or {}).get("decision") or {}
    return {"document_id": doc.id, "number": doc.number, "type": doc.type, "title": doc.title,
            "kind": KINDS.get(doc.type, "other"), "agency": doc.agency_name,
            "party": party.get("name") or "", "decided_on": decision.get("date") or doc.issued_on.isoformat(),
            "due_on": deadline.get("due_on"), "basis": deadline.get("basis") or "",
            "case_number": doc.case_number}


class PublicationNotices:
    def __init__(self, documents_get: Callable[[str], Document], search: Callable[[], ServiceClient],
                 outbox: OutboxRunner):
        self.get = documents_get
        self.search = search
        self.outbox = outbox

    def record(self, session: Session, doc: Document) -> None:
        """In the issuing transaction: the notice's job, for a decision to publish; handed out
        as soon as the transaction commits."""
        if doc.type not in KINDS or publication_deadline(doc) is None:
            return
        self.record_job(session, doc.id)
        event.listen(session, "after_commit", lambda _s: self.outbox.wake(), once=True)

    @staticmethod
    def record_job(session: Session, document_id: str, due_in: float = 0) -> str:
        return record(session, Outbox, NOTIFY_JOB, [document_id], on_give_up=NOTIFY_GIVEN_UP, due_in=due_in)

    def send(self, document_id: str) -> None:
        """The job: POST the notice; raises (and is retried) unless the search service has it."""
        body = notice(self.get(document_id))
        with self.search() as client:
            client.post_json("/v1/pending", body, idempotency_key=f"publication:{document_id}")
        log.info("search service told of decision %s to publish by %s", body["number"], body["due_on"])

    def given_up(self, document_id: str, reason: str) -> None:
        """The outbox stopped retrying: a new round, an hour from now."""
        from shared.db import transaction
        log.error("publication notice of document %s not delivered (%s); retrying in %d s",
                  document_id, reason, RETRY_LATER_SECONDS)
        with transaction(self.outbox.sessions) as session:
            self.record_job(session, document_id, due_in=RETRY_LATER_SECONDS)
