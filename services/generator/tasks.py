"""Job functions of the generator, run by the outbox (shared.outbox) on an RQ
worker or inline when no Redis is set.

Recorded by dotted path ("services.generator.tasks.render_pdf"), so the
modules that record them never import this one. `runtime.current()` is the
runtime of the app that handed out an inline job, or the worker's own.
"""
from __future__ import annotations

from services.generator import runtime


def issue_batch_item(batch_id: str, position: int) -> None:
    runtime.current().batches.run_item(batch_id, position)


def render_pdf(document_id: str) -> None:
    runtime.current().renditions.make(document_id)


def batch_item_given_up(batch_id: str, position: int, reason: str) -> None:
    """The outbox gave up (its runs kept dying): the entry fails with the reason, never pending for ever."""
    runtime.current().batches.give_up(batch_id, position, reason)


def pdf_given_up(document_id: str, reason: str) -> None:
    """The same for a PDF: marked failed, so it can be asked for again (POST …/pdf)."""
    runtime.current().renditions.give_up(document_id, reason)


def notify_publication(document_id: str) -> None:
    """Tell the search service of a decision to publish (idempotent there by document id)."""
    runtime.current().notices.send(document_id)


def publication_notice_given_up(document_id: str, reason: str) -> None:
    """The search service stayed out of reach: the notice is recorded again for later, never dropped."""
    runtime.current().notices.given_up(document_id, reason)
