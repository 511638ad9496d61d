"""RQ job functions of the generator (also run inline when no Redis is set).

Enqueued by dotted path ("services.generator.tasks.render_pdf"), so the
modules that enqueue never import this one. `runtime.current()` is the
runtime of the app that enqueued an inline job, or the worker's own.
"""
from __future__ import annotations

from services.generator import runtime


def issue_batch_item(batch_id: str, position: int) -> None:
    runtime.current().batches.run_item(batch_id, position)


def render_pdf(document_id: str) -> None:
    runtime.current().renditions.make(document_id)
